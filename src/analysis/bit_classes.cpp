#include "analysis/bit_classes.hpp"

#include <bit>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace save {

int BitClasses::count(BitClass c) const {
  int n = 0;
  for (BitClass b : bit) n += b == c;
  return n;
}

uint32_t BitClasses::mask(BitClass c) const {
  uint32_t m = 0;
  for (size_t b = 0; b < bit.size(); ++b)
    if (bit[b] == c) m |= 1u << b;
  return m;
}

namespace {

// A piece of the interval on which sign and exponent field are constant.
struct Piece {
  double a, b;  // a <= b, same sign
  bool negative;
  uint32_t exponent;  // biased exponent field, 0 for zero/subnormals
};

uint32_t exponent_of(float x) {
  return (std::bit_cast<uint32_t>(x) >> 23) & 0xff;
}

// Splits [lo, hi] at every power of two (and at zero) so each piece has one
// sign and one exponent field: at most ~2 x 255 pieces.
std::vector<Piece> pieces(float lo, float hi) {
  std::vector<Piece> out;
  auto add_side = [&](double a, double b, bool neg) {  // magnitudes a <= b, >= 0
    double x = a;
    while (x <= b) {
      float fx = static_cast<float>(x);
      uint32_t e = exponent_of(fx);
      // Upper end of this exponent's range of magnitudes.
      double top = e == 0 ? std::ldexp(1.0, -126) : std::ldexp(1.0, static_cast<int>(e) - 126);
      double end = std::min(b, std::nextafter(top, 0.0));
      out.push_back({neg ? -end : x, neg ? -x : end, neg, e});
      if (end >= b) break;
      x = top;
    }
  };
  if (lo < 0) add_side(hi < 0 ? -static_cast<double>(hi) : 0.0, -static_cast<double>(lo), true);
  if (hi >= 0) add_side(lo > 0 ? lo : 0.0, hi, false);
  return out;
}

bool disjoint(double a, double b, double lo, double hi) {
  return b < lo || a > hi;
}

}  // namespace

BitClasses classify_bits(float lo, float hi, double tol) {
  SAVE_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && tol > 0,
             "bit attribution needs a finite interval lo <= hi and a positive tolerance");
  BitClasses out;
  std::vector<Piece> ps = pieces(lo, hi);
  for (int bit = 0; bit < 32; ++bit) {
    bool robust = true, ranging = true;
    for (const Piece& p : ps) {
      double maxmag = std::max(std::abs(p.a), std::abs(p.b));
      double img_a, img_b, change;
      if (bit == 31) {
        img_a = -p.b;
        img_b = -p.a;
        change = 2 * maxmag;
      } else if (bit >= 23) {
        int k = bit - 23;
        uint32_t e2 = p.exponent ^ (1u << k);
        if (e2 == 255) {  // Inf or NaN: a range check always fails
          robust = false;
          continue;
        }
        double sa = std::abs(p.a), sb = std::abs(p.b);
        double na, nb;
        if (p.exponent == 0) {  // zero or subnormal: the new value is normal
          na = std::ldexp(1.0, static_cast<int>(e2) - 127);
          nb = std::ldexp(1.0, static_cast<int>(e2) - 126);
        } else {
          double scale = std::ldexp(1.0, static_cast<int>(e2) - static_cast<int>(p.exponent));
          na = sa * scale;
          nb = sb * scale;
        }
        img_a = p.negative ? -nb : na;
        img_b = p.negative ? -na : nb;
        change = std::max(std::abs(nb - sa), std::abs(na - sb));
        change = std::max(change, std::max(std::abs(nb - sb), std::abs(na - sa)));
      } else {
        // Mantissa bit: the value moves by exactly one unit of this bit.
        int e = p.exponent == 0 ? 1 : static_cast<int>(p.exponent);
        double delta = std::ldexp(1.0, e - 127 - 23 + bit);
        change = delta;
        // Leaves the interval for sure only when the interval is narrower.
        img_a = img_b = 0;
        if (!(delta > static_cast<double>(hi) - static_cast<double>(lo))) ranging = false;
        if (!(change < tol)) robust = false;
        continue;
      }
      if (!(change < tol)) robust = false;
      if (!disjoint(img_a, img_b, lo, hi)) ranging = false;
    }
    out.bit[static_cast<size_t>(bit)] = robust    ? BitClass::kRobust
                                        : ranging ? BitClass::kRanging
                                                  : BitClass::kVulnerable;
  }
  return out;
}

}  // namespace save
