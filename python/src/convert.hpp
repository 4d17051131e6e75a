// NumPy arrays <-> engine tensors without copies where the layout allows:
// a C-contiguous array of a supported dtype is borrowed (the tensor points
// into the array's buffer); anything else is converted once by NumPy.
// Outputs are handed to NumPy as arrays over the tensor's own storage.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace save::py {

namespace pyb = pybind11;

// The tensors for one run, in graph-input order, and the arrays they borrow
// from (the caller keeps `keep` alive while the engine may read them).
struct BorrowedInputs {
  std::vector<Tensor> tensors;
  std::vector<pyb::object> keep;
};

// `inputs` is one array (single-input models), a sequence of arrays in
// graph-input order, or a dict {input name: array}. `names` are the graph's
// input names (for the dict form and for error messages).
BorrowedInputs to_tensors(const pyb::handle& inputs, const std::vector<std::string>& names);

// An array over `t`'s storage (shared, no copy).
pyb::array to_array(const Tensor& t);

}  // namespace save::py
