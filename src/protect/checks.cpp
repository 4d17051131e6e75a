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

constexpr size_t kB = kFingerprintBlockWords;

// The CRCs of blocks [b, b + n) (n <= 4) into out[0..n): four full blocks
// in four interleaved chains; the value's last, partial group block after
// block.
inline void crc_group(const uint32_t* p, size_t words, uint64_t m, size_t b, size_t n,
                      uint32_t* out) {
  if (n == 4 && (b + 4) * kB <= words) {
    const uint32_t* s = p + b * kB;
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (size_t i = 0; i < kB; i += 2) {
      c0 = _mm_crc32_u64(c0, load64(s + i) & m);
      c1 = _mm_crc32_u64(c1, load64(s + kB + i) & m);
      c2 = _mm_crc32_u64(c2, load64(s + 2 * kB + i) & m);
      c3 = _mm_crc32_u64(c3, load64(s + 3 * kB + i) & m);
    }
    out[0] = static_cast<uint32_t>(c0);
    out[1] = static_cast<uint32_t>(c1);
    out[2] = static_cast<uint32_t>(c2);
    out[3] = static_cast<uint32_t>(c3);
    return;
  }
  for (size_t k = 0; k < n; ++k) {
    const BlockSpan sp = fingerprint_block(words, b + k);
    uint64_t c = 0;
    size_t i = sp.begin;
    for (; i + 2 <= sp.end; i += 2) c = _mm_crc32_u64(c, load64(p + i) & m);
    auto c32 = static_cast<uint32_t>(c);
    if (i < sp.end) c32 = _mm_crc32_u32(c32, p[i] & static_cast<uint32_t>(m));
    out[k] = c32;
  }
}

inline uint64_t wide_mask(uint32_t mask) {
  return (static_cast<uint64_t>(mask) << 32) | mask;
}

}  // namespace

void masked_crc_into(const void* data, size_t words, uint32_t mask, Fingerprint& out) {
  const auto* p = static_cast<const uint32_t*>(data);
  const size_t nb = fingerprint_blocks(words);
  out.crc.resize(nb);
  const uint64_t m = wide_mask(mask);
  for (size_t b = 0; b < nb; b += 4)
    crc_group(p, words, m, b, std::min<size_t>(4, nb - b), &out.crc[b]);
}

Fingerprint masked_crc(const void* data, size_t words, uint32_t mask) {
  Fingerprint f;
  masked_crc_into(data, words, mask, f);
  return f;
}

bool masked_crc_matches(const void* data, size_t words, uint32_t mask, const Fingerprint& want) {
  const auto* p = static_cast<const uint32_t*>(data);
  const size_t nb = fingerprint_blocks(words);
  if (want.crc.size() != nb) return false;
  const uint64_t m = wide_mask(mask);
  uint32_t got[4];
  for (size_t b = 0; b < nb; b += 4) {
    const size_t n = std::min<size_t>(4, nb - b);
    crc_group(p, words, m, b, n, got);
    if (std::memcmp(got, &want.crc[b], n * sizeof(uint32_t)) != 0) return false;
  }
  return true;
}

bool range_check_and_crc(const float* x, const ChannelLayout& l, const float* lo, const float* hi,
                         uint32_t mask, Fingerprint& sum) {
  const auto* p = reinterpret_cast<const uint32_t*>(x);
  const size_t words = static_cast<size_t>(l.outer * l.channels * l.inner);
  const size_t nb = fingerprint_blocks(words);
  sum.crc.resize(nb);
  const uint64_t m = wide_mask(mask);
  // A group of four blocks (16 KiB, well inside L1) is range-checked, which
  // brings it in, then fingerprinted while it is there.
  uint32_t bad = 0;
  for (size_t b = 0; b < nb; b += 4) {
    const size_t n = std::min<size_t>(4, nb - b);
    const auto e = static_cast<int64_t>(std::min(words, (b + n) * kB));
    bad |= span_bad(x, l, lo, hi, static_cast<int64_t>(b * kB), e);
    crc_group(p, words, m, b, n, &sum.crc[b]);
  }
  return bad == 0;
}

}  // namespace save::protect
