// Used by the op files to register their ops (see op_list.inc).
#pragma once

#include <vector>

#include "ops/op.hpp"

namespace save {

struct OpRegistry {
  std::vector<const OpDef*> ops;
  // `def` must have static storage duration.
  void add(const OpDef& def) { ops.push_back(&def); }
};

// One registration function per line of op_list.inc, declared here so every
// op file and the registry see the same signature.
#define SAVE_OP_FAMILY(f) void register_##f##_ops(OpRegistry& r);
#include "ops/op_list.inc"
#undef SAVE_OP_FAMILY

}  // namespace save
