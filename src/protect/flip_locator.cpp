#include "protect/flip_locator.hpp"

#include <nmmintrin.h>

namespace save::protect {

namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // CRC-32C, reflected

// The CRC's step over one zero bit.
inline uint32_t zero_bit(uint32_t x) {
  return (x >> 1) ^ ((x & 1u) ? kPoly : 0u);
}

// The position t in [0, bits) of the single flipped bit of a `bits`-bit
// block with syndrome s, or -1. Baby-step giant-step on k = bits - 1 - t,
// where Z^k(P) = s: the baby steps are Z^j(s) for j < 64; the giant steps
// Z^(64 i)(P) come from the CRC instruction over a zero word (64 zero bits).
// A match Z^(64 i)(P) = Z^j(s) gives k = 64 i - j.
int64_t locate_in_block(uint32_t s, int64_t bits) {
  uint32_t baby[64];
  baby[0] = s;
  for (int j = 1; j < 64; ++j) baby[j] = zero_bit(baby[j - 1]);
  uint64_t g = kPoly;
  for (int64_t i = 0; 64 * i - 63 < bits; ++i) {
    bool hit = false;
    for (int j = 0; j < 64; ++j) hit |= baby[j] == static_cast<uint32_t>(g);  // vectorises
    if (hit)
      for (int j = 0; j < 64; ++j) {
        const int64_t k = 64 * i - j;
        if (baby[j] == static_cast<uint32_t>(g) && k >= 0 && k < bits) return bits - 1 - k;
      }
    g = _mm_crc32_u64(g, 0);
  }
  return -1;
}

}  // namespace

std::optional<std::vector<FlipSite>> locate_flips(const Fingerprint& want, const Fingerprint& got,
                                                  size_t words, uint32_t mask) {
  const size_t nb = fingerprint_blocks(words);
  if (want.crc.size() != nb || got.crc.size() != nb) return std::nullopt;
  std::vector<FlipSite> sites;
  for (size_t j = 0; j < nb; ++j) {
    const uint32_t s = want.crc[j] ^ got.crc[j];
    if (s == 0) continue;
    const BlockSpan span = fingerprint_block(words, j);
    const auto bits = static_cast<int64_t>((span.end - span.begin) * 32);
    const int64_t t = locate_in_block(s, bits);
    if (t < 0) return std::nullopt;
    FlipSite f{span.begin + static_cast<size_t>(t / 32), static_cast<int>(t % 32)};
    if (!((mask >> f.bit) & 1u)) return std::nullopt;  // a masked bit cannot change the CRC
    sites.push_back(f);
  }
  return sites;
}

}  // namespace save::protect
