// The process-wide oneDNN CPU engine and stream (oneDNN's engine is cheap to
// share; kernels run on the caller's thread with OpenMP inside).
#pragma once

#include <dnnl.hpp>

namespace save {

struct DnnlContext {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  static DnnlContext& get();
};

}  // namespace save
