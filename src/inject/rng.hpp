// A small, fully specified PRNG (SplitMix64) so that every campaign is
// reproducible bit for bit from its seed on any platform (the standard
// library's distributions are implementation-defined).
#pragma once

#include <cstdint>

namespace save {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0: rejection sampling, exactly uniform.
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % n;
  }
  // Derives an independent stream, e.g. per trial: Rng(mix(seed, trial)).
  static uint64_t mix(uint64_t a, uint64_t b) {
    Rng r(a ^ (b * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
    return r.next();
  }

 private:
  uint64_t state_;
};

}  // namespace save
