// The protection-plan reader (src/protect/protection_plan.*). A mutated
// plan almost never matches its content checksum, which would keep the
// fuzzer at the first check; so the harness re-signs JSON inputs (puts the
// right content_sha256 in) and feeds both the raw bytes and the re-signed
// text to the parser.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "protect/protection_plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    save::protect::parse_plan(text, "fuzz.plan", "");
  } catch (const save::Error&) {
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    j.erase("content_sha256");
    j["content_sha256"] = save::sha256_hex(j.dump());
    try {
      save::protect::parse_plan(j.dump(), "fuzz.plan", "");
    } catch (const save::Error&) {
    }
  }
  return 0;
}
