// SHA-256 (OpenSSL) of a file: ties plans and result files to one model.
#pragma once

#include <string>

namespace save {

// Lower-case hex digest; throws Error when the file cannot be read.
std::string file_sha256(const std::string& path);

}  // namespace save
