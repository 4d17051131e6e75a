#include "import/tensor_proto.hpp"

#include <cstring>

#include "core/error.hpp"

namespace save {

namespace {
template <typename Dst, typename Field>
void copy_field(Tensor& out, const Field& field, const std::string& where) {
  SAVE_CHECK(static_cast<int64_t>(field.size()) == out.numel(),
             "{}: holds {} values, its shape needs {}", where, field.size(), out.numel());
  Dst* p = out.ptr<Dst>();
  for (int i = 0; i < field.size(); ++i) p[i] = static_cast<Dst>(field.Get(i));
}
}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where) {
  SAVE_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL,
             "{}: external tensor data is not supported", where);
  SAVE_CHECK(dtype_supported(t.data_type()),
             "{}: element type code {} is not supported (supported: float32, float64, int8, "
             "uint8, int32, int64, bool)",
             where, t.data_type());
  Shape shape(t.dims().begin(), t.dims().end());
  for (int64_t d : shape) SAVE_CHECK(d >= 0, "{}: negative dimension", where);
  DType dt = static_cast<DType>(t.data_type());
  Tensor out(dt, shape);
  if (t.has_raw_data()) {
    SAVE_CHECK(t.raw_data().size() == out.nbytes(), "{}: holds {} bytes, its shape needs {}", where,
               t.raw_data().size(), out.nbytes());
    if (out.nbytes() > 0) std::memcpy(out.data(), t.raw_data().data(), out.nbytes());
    return out;
  }
  if (out.numel() == 0) return out;
  switch (dt) {
    case DType::kF32:
      copy_field<float>(out, t.float_data(), where);
      break;
    case DType::kF64:
      copy_field<double>(out, t.double_data(), where);
      break;
    case DType::kI64:
      copy_field<int64_t>(out, t.int64_data(), where);
      break;
    case DType::kI32:
      copy_field<int32_t>(out, t.int32_data(), where);
      break;
    case DType::kI8:
      copy_field<int8_t>(out, t.int32_data(), where);
      break;
    case DType::kU8:
      copy_field<uint8_t>(out, t.int32_data(), where);
      break;
    case DType::kBool:
      copy_field<bool>(out, t.int32_data(), where);
      break;
    default:
      fail("{}: unsupported element type", where);
  }
  return out;
}

}  // namespace save
