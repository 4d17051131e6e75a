// SHA-256 (OpenSSL) of a file: ties plans and result files to one model.
#pragma once

#include <string>
#include <string_view>

namespace save {

// Lower-case hex digest; throws Error when the file cannot be read.
std::string file_sha256(const std::string& path);
// Lower-case hex digest of `bytes` (checksums of cache and plan contents).
std::string sha256_hex(std::string_view bytes);

}  // namespace save
