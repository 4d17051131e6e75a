// NumPy .npy files (format 1.0-3.0, C order, little-endian): read any
// supported dtype, write atomically (temp file then rename).
#pragma once

#include <istream>
#include <string>

#include "core/tensor.hpp"

namespace save {

// Throws Error naming the file on a bad magic or header, a negative or
// overflowing shape entry, data shorter or longer than the shape needs
// (checked before allocating), or a size above the memory limit.
Tensor read_npy(const std::string& path);
// The same from a stream positioned at the magic; `label` names it in errors.
Tensor read_npy(std::istream& in, const std::string& label);
// Writes via a temporary file in the same folder, renamed into place, so a
// failure never leaves a partial file.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace save
