#include "convert.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "exec/session.hpp"

namespace save::py {

namespace {

// The engine's element type for a NumPy dtype; kUndefined when it has none.
DType dtype_of(const pyb::dtype& d) {
  if (d.is(pyb::dtype::of<float>())) return DType::kF32;
  if (d.is(pyb::dtype::of<double>())) return DType::kF64;
  if (d.is(pyb::dtype::of<int64_t>())) return DType::kI64;
  if (d.is(pyb::dtype::of<int32_t>())) return DType::kI32;
  if (d.is(pyb::dtype::of<int8_t>())) return DType::kI8;
  if (d.is(pyb::dtype::of<uint8_t>())) return DType::kU8;
  if (d.is(pyb::dtype::of<bool>())) return DType::kBool;
  return DType::kUndefined;
}

pyb::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::kF32:
      return pyb::dtype::of<float>();
    case DType::kF64:
      return pyb::dtype::of<double>();
    case DType::kI64:
      return pyb::dtype::of<int64_t>();
    case DType::kI32:
      return pyb::dtype::of<int32_t>();
    case DType::kI8:
      return pyb::dtype::of<int8_t>();
    case DType::kU8:
      return pyb::dtype::of<uint8_t>();
    case DType::kBool:
      return pyb::dtype::of<bool>();
    default:
      fail("an output of type {} has no NumPy equivalent", dtype_name(t));
  }
}

// One input: borrowed when C-contiguous with a supported dtype, else
// converted (float64 lists and the like become float32: what models take).
Tensor one_tensor(const pyb::handle& obj, const std::string& name, std::vector<pyb::object>& keep) {
  pyb::array a = pyb::array::ensure(obj);
  SAVE_CHECK(a, "input '{}': expected a NumPy array (or something numpy.asarray takes), got {}",
             name, std::string(pyb::str(obj.get_type().attr("__name__"))));
  DType dt = dtype_of(a.dtype());
  if (dt == DType::kUndefined || dt == DType::kF64) {
    // Python floats arrive as float64; models take float32.
    a = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(a);
    SAVE_CHECK(a, "input '{}': cannot convert dtype {} to float32", name,
               std::string(pyb::str(obj.attr("dtype"))));
    dt = DType::kF32;
  } else if (!(a.flags() & pyb::array::c_style)) {
    a = pyb::array::ensure(a, pyb::array::c_style);  // a strided view: one copy
  }
  Shape shape(a.shape(), a.shape() + a.ndim());
  keep.push_back(a);
  Tensor t = Tensor::borrow(dt, shape, const_cast<void*>(a.data()), nullptr);
  // Scalars and short vectors are folded into a plan, which may keep them
  // past this call: give those their own storage.
  return is_plan_time_input(t) ? t.clone() : t;
}

}  // namespace

BorrowedInputs to_tensors(const pyb::handle& inputs, const std::vector<std::string>& names) {
  BorrowedInputs out;
  if (pyb::isinstance<pyb::dict>(inputs)) {
    pyb::dict d = pyb::reinterpret_borrow<pyb::dict>(inputs);
    for (auto item : d) {
      std::string key = pyb::str(item.first);
      bool known = false;
      for (const std::string& n : names) known = known || n == key;
      SAVE_CHECK(known, "the model has no input named '{}' (inputs: {})", key,
                 fmt::join(names, ", "));
    }
    for (const std::string& n : names) {
      SAVE_CHECK(d.contains(n), "input '{}' is missing (inputs: {})", n, fmt::join(names, ", "));
      out.tensors.push_back(one_tensor(d[pyb::str(n)], n, out.keep));
    }
    return out;
  }
  if (pyb::isinstance<pyb::list>(inputs) || pyb::isinstance<pyb::tuple>(inputs)) {
    pyb::sequence seq = pyb::reinterpret_borrow<pyb::sequence>(inputs);
    SAVE_CHECK(seq.size() == names.size(), "the model takes {} inputs ({}), got {}", names.size(),
               fmt::join(names, ", "), seq.size());
    for (size_t i = 0; i < names.size(); ++i)
      out.tensors.push_back(one_tensor(seq[i], names[i], out.keep));
    return out;
  }
  SAVE_CHECK(names.size() == 1,
             "the model takes {} inputs ({}): pass a dict by name or a list in that order",
             names.size(), fmt::join(names, ", "));
  out.tensors.push_back(one_tensor(inputs, names[0], out.keep));
  return out;
}

pyb::array to_array(const Tensor& t) {
  // The capsule owns a copy of the tensor handle: the storage is shared and
  // freed when NumPy drops the array.
  auto* owner = new Tensor(t);
  pyb::capsule free_it(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<pyb::ssize_t> shape(t.shape().begin(), t.shape().end());
  return pyb::array(numpy_dtype(t.dtype()), shape, owner->data(), free_it);
}

}  // namespace save::py
