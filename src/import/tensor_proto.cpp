#include "import/tensor_proto.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace save {

namespace {
template <typename Dst, typename Field>
void copy_field(Tensor& out, const Field& field) {
  Dst* p = out.ptr<Dst>();
  for (int i = 0; i < field.size(); ++i) p[i] = static_cast<Dst>(field.Get(i));
}

// How many values the typed (non-raw) field of `t` holds.
int64_t field_values(const onnx::TensorProto& t, DType dt) {
  switch (dt) {
    case DType::kF32:
      return t.float_data_size();
    case DType::kF64:
      return t.double_data_size();
    case DType::kI64:
      return t.int64_data_size();
    default:
      return t.int32_data_size();
  }
}

}  // namespace

uint64_t check_tensor_proto(const onnx::TensorProto& t, const std::string& where) {
  SAVE_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL,
             "{}: external tensor data is not supported", where);
  SAVE_CHECK(dtype_supported(t.data_type()),
             "{}: element type code {} is not supported (supported: float32, float64, int8, "
             "uint8, int32, int64, bool)",
             where, t.data_type());
  Shape shape(t.dims().begin(), t.dims().end());
  DType dt = static_cast<DType>(t.data_type());
  const int64_t numel = checked_numel(shape, where);
  const uint64_t nbytes = checked_nbytes(shape, dt, where);
  // The data must be there before anything is allocated for it: a header
  // claiming 2^31 elements over 40 bytes is refused here, not after
  // zeroing 8 GB.
  if (t.has_raw_data()) {
    SAVE_CHECK(t.raw_data().size() == nbytes, "{}: holds {} bytes, its shape {} needs {}", where,
               t.raw_data().size(), shape_str(shape), nbytes);
  } else if (numel > 0) {
    SAVE_CHECK(field_values(t, dt) == numel, "{}: holds {} values, its shape {} needs {}", where,
               field_values(t, dt), shape_str(shape), numel);
  }
  check_memory(nbytes, where);
  return nbytes;
}

Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where) {
  check_tensor_proto(t, where);
  DType dt = static_cast<DType>(t.data_type());
  Tensor out(dt, Shape(t.dims().begin(), t.dims().end()));
  if (t.has_raw_data()) {
    if (out.nbytes() > 0) std::memcpy(out.data(), t.raw_data().data(), out.nbytes());
    return out;
  }
  if (out.numel() == 0) return out;
  switch (dt) {
    case DType::kF32:
      copy_field<float>(out, t.float_data());
      break;
    case DType::kF64:
      copy_field<double>(out, t.double_data());
      break;
    case DType::kI64:
      copy_field<int64_t>(out, t.int64_data());
      break;
    case DType::kI32:
      copy_field<int32_t>(out, t.int32_data());
      break;
    case DType::kI8:
      copy_field<int8_t>(out, t.int32_data());
      break;
    case DType::kU8:
      copy_field<uint8_t>(out, t.int32_data());
      break;
    case DType::kBool:
      copy_field<bool>(out, t.int32_data());
      break;
    default:
      fail("{}: unsupported element type", where);
  }
  return out;
}

}  // namespace save
