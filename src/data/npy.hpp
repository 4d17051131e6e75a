// NumPy .npy files (format 1.0-3.0, C order, little-endian): read any
// supported dtype, write atomically (temp file then rename).
#pragma once

#include <string>

#include "core/tensor.hpp"

namespace save {

Tensor read_npy(const std::string& path);
// Writes via a temporary file in the same folder, renamed into place, so a
// failure never leaves a partial file.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace save
