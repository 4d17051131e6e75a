// TODO(engine issue): ops of family 'pool' (see op_list.inc).
#include "ops/registry.hpp"

namespace save {

void register_pool_ops(OpRegistry& r) { (void)r; }

}  // namespace save
