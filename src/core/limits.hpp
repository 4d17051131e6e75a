// Sizes checked before anything is allocated. Every element count and byte
// size that comes from a file (tensor dims, .npy shapes, attributes, plan
// shapes) goes through checked_numel / checked_nbytes, which refuse negative
// dimensions and products that do not fit in 63 bits instead of wrapping.
//
// The memory limit (`--max-memory`, default: the machine's available memory
// when first asked) bounds any single allocation of tensor storage and the
// sum of a model's constants, so a file that claims 2^31 elements is refused
// with the tensor's name before its bytes are zeroed.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/dtype.hpp"

namespace save {

// Product of `shape`; Error naming `what` on a negative dimension or a
// product above INT64_MAX.
int64_t checked_numel(std::span<const int64_t> shape, const std::string& what);
// checked_numel times the element size; Error when that does not fit in
// int64 either.
uint64_t checked_nbytes(std::span<const int64_t> shape, DType dtype, const std::string& what);

// The limit in bytes (0 before anything set it: computed from
// /proc/meminfo's MemAvailable on first use).
uint64_t memory_limit();
void set_memory_limit(uint64_t bytes);
// Error naming `what` when `bytes` is above the limit.
void check_memory(uint64_t bytes, const std::string& what);
// "12.3 GiB"-style text for messages.
std::string bytes_text(uint64_t bytes);
// Parses a --max-memory value: BYTES, or a number with B, KB, MB, GB, KiB,
// MiB, GiB (case-insensitive). Error naming the flag otherwise.
uint64_t parse_memory_size(const std::string& text, const std::string& flag);

}  // namespace save
