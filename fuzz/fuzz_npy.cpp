// The .npy reader (src/data/npy.*) on arbitrary bytes: header parsing,
// shape entries, size checks before allocation.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "data/npy.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  save::set_memory_limit(uint64_t{64} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    save::Tensor t = save::read_npy(in, "fuzz.npy");
    // What was read must be as large as it says.
    if (t.nbytes() > size) __builtin_trap();
  } catch (const save::Error&) {
  }
  return 0;
}
