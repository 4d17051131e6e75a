// Model bytes -> graph -> plan: the importer (protobuf parsing, the checks
// before ONNX's version converter, the converter itself, conversion to our
// IR) and planning (shape rules, constant folding with the reference
// kernels, arena layout) on arbitrary bytes. Any Error is a correct answer;
// a crash, sanitizer report, leak-free hang or std:: exception other than
// bad_alloc is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"

namespace {

// Concrete input shapes: static dims as given, symbolic (or absurd) ones 1.
std::vector<save::TensorInfo> input_infos(const save::Graph& g) {
  std::vector<save::TensorInfo> out;
  for (save::ValueId v : g.inputs) {
    const save::Value& val = g.values[v];
    save::TensorInfo info;
    info.dtype = val.dtype == save::DType::kUndefined ? save::DType::kF32 : val.dtype;
    for (const save::Dim& d : val.shape)
      info.shape.push_back(d.size > 0 && d.size <= 64 ? d.size : 1);
    out.push_back(info);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Large enough for the bundled models' constants, small enough that a
  // claimed size is refused rather than allocated under ASan.
  save::set_memory_limit(uint64_t{256} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    save::Graph g = save::import_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size),
                                            "fuzz.onnx");
    save::SessionOptions so;
    so.threads = 1;
    so.plan.use_fast_kernels = false;  // the reference kernels: no JIT per input
    save::Session session(std::move(g), so);
    std::vector<save::Tensor> inputs;
    for (const save::TensorInfo& info : input_infos(session.graph()))
      inputs.emplace_back(info.dtype, info.shape);
    session.plan_for(inputs);
  } catch (const save::Error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
