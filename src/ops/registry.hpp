// Used by family files to register their ops (see op_list.inc).
#pragma once

#include <vector>

#include "ops/op.hpp"

namespace save {

struct OpRegistry {
  std::vector<const OpDef*> ops;
  // `def` must have static storage duration.
  void add(const OpDef& def) { ops.push_back(&def); }
};

}  // namespace save
