#include "protect/checks.hpp"

#include <nmmintrin.h>

#include <algorithm>
#include <cstring>

namespace save::protect {

namespace {

// Out-of-range (or NaN) elements of one channel run, branch-free so it
// vectorises.
inline uint32_t run_bad(const float* x, int64_t n, float lo, float hi) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad |= static_cast<uint32_t>(!(x[i] >= lo)) | static_cast<uint32_t>(!(x[i] <= hi));
  return bad;
}

inline uint64_t load64(const uint32_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Out-of-range elements among elements [b, e) of a tensor with layout `l`.
uint32_t span_bad(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                  int64_t b, int64_t e) {
  uint32_t bad = 0;
  if (l.channels == 1) return run_bad(x + b, e - b, lo[0], hi[0]);
  if (l.inner == 1) {
    // [outer, channels]: each row segment against the matching bounds.
    while (b < e) {
      const int64_t c = b % l.channels;
      const int64_t n = std::min(e - b, l.channels - c);
      for (int64_t i = 0; i < n; ++i)
        bad |= static_cast<uint32_t>(!(x[b + i] >= lo[c + i])) |
               static_cast<uint32_t>(!(x[b + i] <= hi[c + i]));
      b += n;
    }
    return bad;
  }
  while (b < e) {  // runs of one channel
    const int64_t run = b / l.inner;
    const int64_t end = std::min(e, (run + 1) * l.inner);
    const int64_t c = run % l.channels;
    bad |= run_bad(x + b, end - b, lo[c], hi[c]);
    b = end;
  }
  return bad;
}

}  // namespace

bool range_check(const float* x, const ChannelLayout& l, const float* lo, const float* hi) {
  uint32_t bad = 0;
  if (l.inner == 1 && l.channels > 1) {
    // [outer, channels]: vectorise across channels.
    for (int64_t o = 0; o < l.outer; ++o) {
      const float* row = x + o * l.channels;
      for (int64_t c = 0; c < l.channels; ++c)
        bad |=
            static_cast<uint32_t>(!(row[c] >= lo[c])) | static_cast<uint32_t>(!(row[c] <= hi[c]));
    }
  } else {
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t c = 0; c < l.channels; ++c)
        bad |= run_bad(x + (o * l.channels + c) * l.inner, l.inner, lo[c], hi[c]);
  }
  return bad == 0;
}

namespace {

// One chain's CRC over words [from, to) of p, an odd last word included.
inline uint32_t crc_words(uint32_t crc, const uint32_t* p, size_t from, size_t to, uint64_t m) {
  uint64_t c = crc;
  size_t i = from;
  for (; i + 2 <= to; i += 2) c = _mm_crc32_u64(c, load64(p + i) & m);
  auto c32 = static_cast<uint32_t>(c);
  if (i < to) c32 = _mm_crc32_u32(c32, p[i] & static_cast<uint32_t>(m));
  return c32;
}

// Walks the fingerprint blocks of `words` words (fingerprint_block's
// layout): block i of the four chains at once, interleaved, then what only
// chain 3 holds (the tail). `visit(i, lo, hi)` runs before block i of chains
// 0-2 is fingerprinted, with the chain-relative words [lo, hi), so a caller
// can range-check the four pieces while they come into L1; `emit(j, crc)`
// takes block j's CRC.
template <class Visit, class Emit>
inline void walk_blocks(const uint32_t* p, size_t words, uint64_t m, Visit visit, Emit emit) {
  constexpr size_t k = kFingerprintBlockWords;
  const size_t q = fingerprint_quarter(words), per = (q + k - 1) / k;
  const uint32_t* s[4] = {p, p + q, p + 2 * q, p + 3 * q};
  const size_t len3 = words - 3 * q;  // chain 3: its quarter and the tail
  for (size_t i = 0; i < per; ++i) {
    const size_t lo = i * k, hi = std::min(q, lo + k);
    visit(i, lo, hi);
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (size_t w = lo; w < hi; w += 2) {  // q is even: whole pairs
      c0 = _mm_crc32_u64(c0, load64(s[0] + w) & m);
      c1 = _mm_crc32_u64(c1, load64(s[1] + w) & m);
      c2 = _mm_crc32_u64(c2, load64(s[2] + w) & m);
      c3 = _mm_crc32_u64(c3, load64(s[3] + w) & m);
    }
    emit(i, static_cast<uint32_t>(c0));
    emit(per + i, static_cast<uint32_t>(c1));
    emit(2 * per + i, static_cast<uint32_t>(c2));
    // Chain 3's block i may reach into the tail.
    emit(3 * per + i, crc_words(static_cast<uint32_t>(c3), s[3], hi, std::min(len3, lo + k), m));
  }
  for (size_t lo = per * k; lo < len3; lo += k)  // tail blocks of chain 3 alone
    emit(3 * per + lo / k, crc_words(0, s[3], lo, std::min(len3, lo + k), m));
}

inline uint64_t wide_mask(uint32_t mask) {
  return (static_cast<uint64_t>(mask) << 32) | mask;
}

}  // namespace

void masked_crc_into(const void* data, size_t words, uint32_t mask, Fingerprint& out) {
  out.crc.resize(fingerprint_blocks(words));
  uint32_t* crc = out.crc.data();
  walk_blocks(
      static_cast<const uint32_t*>(data), words, wide_mask(mask), [](size_t, size_t, size_t) {},
      [crc](size_t j, uint32_t c) { crc[j] = c; });
}

Fingerprint masked_crc(const void* data, size_t words, uint32_t mask) {
  Fingerprint f;
  masked_crc_into(data, words, mask, f);
  return f;
}

bool masked_crc_matches(const void* data, size_t words, uint32_t mask, const Fingerprint& want) {
  if (want.crc.size() != fingerprint_blocks(words)) return false;
  const uint32_t* crc = want.crc.data();
  uint32_t diff = 0;  // no early exit: a mismatch is the rare case
  walk_blocks(
      static_cast<const uint32_t*>(data), words, wide_mask(mask), [](size_t, size_t, size_t) {},
      [crc, &diff](size_t j, uint32_t c) { diff |= c ^ crc[j]; });
  return diff == 0;
}

bool range_check_and_crc(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                         uint32_t mask, Fingerprint& sum) {
  const size_t words = static_cast<size_t>(l.outer * l.channels * l.inner);
  sum.crc.resize(fingerprint_blocks(words));
  uint32_t* crc = sum.crc.data();
  const auto q = static_cast<int64_t>(fingerprint_quarter(words));
  // Block i of the four chains (4 x 4 KiB, inside L1) is range-checked,
  // which brings it in, then fingerprinted while it is there.
  uint32_t bad = 0;
  walk_blocks(
      reinterpret_cast<const uint32_t*>(x), words, wide_mask(mask),
      [&](size_t, size_t b, size_t e) {
        for (int64_t j = 0; j < 4; ++j)
          bad |= span_bad(x, l, lo, hi, j * q + static_cast<int64_t>(b),
                          j * q + static_cast<int64_t>(e));
      },
      [crc](size_t j, uint32_t c) { crc[j] = c; });
  bad |= span_bad(x, l, lo, hi, 4 * q, static_cast<int64_t>(words));  // the tail
  return bad == 0;
}

}  // namespace save::protect
