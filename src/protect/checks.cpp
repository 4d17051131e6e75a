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

Fingerprint masked_crc(const void* data, size_t words, uint32_t mask) {
  const auto* p = static_cast<const uint32_t*>(data);
  const uint64_t m = (static_cast<uint64_t>(mask) << 32) | mask;
  // Four quarters of an even number of words each; the tail goes to chain 3
  // (fingerprint_chain).
  const size_t q = fingerprint_chain(words, 1).begin;
  const uint32_t* s[4] = {p, p + q, p + 2 * q, p + 3 * q};
  uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  for (size_t i = 0; i < q; i += 2) {
    c0 = _mm_crc32_u64(c0, load64(s[0] + i) & m);
    c1 = _mm_crc32_u64(c1, load64(s[1] + i) & m);
    c2 = _mm_crc32_u64(c2, load64(s[2] + i) & m);
    c3 = _mm_crc32_u64(c3, load64(s[3] + i) & m);
  }
  auto c3_32 = static_cast<uint32_t>(c3);
  for (size_t i = 4 * q; i < words; ++i) c3_32 = _mm_crc32_u32(c3_32, p[i] & mask);
  Fingerprint f;
  f.crc[0] = static_cast<uint32_t>(c0);
  f.crc[1] = static_cast<uint32_t>(c1);
  f.crc[2] = static_cast<uint32_t>(c2);
  f.crc[3] = c3_32;
  return f;
}

bool range_check_and_crc(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                         uint32_t mask, Fingerprint& sum) {
  const auto* p = reinterpret_cast<const uint32_t*>(x);
  const size_t words = static_cast<size_t>(l.outer * l.channels * l.inner);
  const uint64_t m = (static_cast<uint64_t>(mask) << 32) | mask;
  // The same quarters and chains as masked_crc, walked in blocks of
  // kBlock words per quarter (4 x 2 KiB: well inside L1).
  constexpr size_t kBlock = 512;
  const size_t q = fingerprint_chain(words, 1).begin;
  uint64_t c[4] = {0, 0, 0, 0};
  uint32_t bad = 0;
  for (size_t i0 = 0; i0 < q; i0 += kBlock) {
    const size_t i1 = std::min(q, i0 + kBlock);
    for (size_t j = 0; j < 4; ++j) {
      const int64_t b = static_cast<int64_t>(j * q + i0), e = static_cast<int64_t>(j * q + i1);
      bad |= span_bad(x, l, lo, hi, b, e);
    }
    for (size_t i = i0; i < i1; i += 2) {
      c[0] = _mm_crc32_u64(c[0], load64(p + i) & m);
      c[1] = _mm_crc32_u64(c[1], load64(p + q + i) & m);
      c[2] = _mm_crc32_u64(c[2], load64(p + 2 * q + i) & m);
      c[3] = _mm_crc32_u64(c[3], load64(p + 3 * q + i) & m);
    }
  }
  bad |= span_bad(x, l, lo, hi, static_cast<int64_t>(4 * q), static_cast<int64_t>(words));
  auto c3_32 = static_cast<uint32_t>(c[3]);
  for (size_t i = 4 * q; i < words; ++i) c3_32 = _mm_crc32_u32(c3_32, p[i] & mask);
  for (size_t j = 0; j < 3; ++j) sum.crc[j] = static_cast<uint32_t>(c[j]);
  sum.crc[3] = c3_32;
  return bad == 0;
}

}  // namespace save::protect
