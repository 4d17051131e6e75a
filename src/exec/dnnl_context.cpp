#include "exec/dnnl_context.hpp"

namespace save {

DnnlContext& DnnlContext::get() {
  static DnnlContext ctx;
  return ctx;
}

}  // namespace save
