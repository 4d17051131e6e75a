// Symbolic linear bounds of one value (issue 11, item 2): the per-element
// lower and upper bounds are linear functions of the model's input elements
// (the generators), L(x) <= v <= U(x) for every input x in the input box,
// instead of constants. A linear op maps the functions exactly, so the
// correlation between neighbouring values that box propagation loses (each
// 3x3 conv multiplying an interval's width by ~10) is kept; a Relu whose
// input straddles 0 is relaxed (DeepPoly's triangle: Singh et al., POPL 2019).
//
// Storage, midpoint-radius: M = (U + L) / 2 and D = (U - L) / 2, each a
// float32 tensor [G, numel] -- row 0 the constant term, row g the
// coefficient of generator g. A linear map y = W v + b then costs two
// applications of the op itself to a batch of G "images": M' = W M (+ b in
// row 0) and D' = |W| D, with the engine's own fast kernels. A reshape or a
// flatten leaves the rows as they are.
//
// Float rounding (the coefficients are computed in float32, and the kernels
// that will run round too) enters as a radius added to D's row 0: every
// form here holds for the exact network AND for the float32 one the engine
// runs, whatever the summation order (the gamma_n argument of
// ops/interval.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.hpp"

namespace save {

// The input box: generator g (1-based) ranges over [lo[g-1], hi[g-1]].
struct GeneratorBox {
  std::vector<double> lo, hi;
  int64_t rows() const { return static_cast<int64_t>(lo.size()) + 1; }
};

struct SymbolicForm {
  Tensor m, d;  // float32 [G, numel]
  int64_t rows() const { return m.defined() ? m.shape()[0] : 0; }
  int64_t numel() const { return m.defined() ? m.shape()[1] : 0; }
  size_t bytes() const { return m.nbytes() + d.nbytes(); }
};

// Per element: the form's bounds over the box, and its magnitude
// sum_g (|M_g| + |D_g|) r_g (r_0 = 1, r_g = max(|lo_g|, |hi_g|)), which
// bounds the rounding error of anything computed from the coefficients.
struct Concrete {
  std::vector<double> lo, hi, mag;
};

// Exact in the generators: v = x_e for the input's elements, generators
// first_generator .. first_generator + numel - 1.
SymbolicForm input_form(int64_t rows, int64_t numel, int64_t first_generator);
// A constant interval [lo, hi] per element (no dependence on the input).
SymbolicForm constant_form(int64_t rows, std::span<const double> lo, std::span<const double> hi);

// Bounds over the box, in double precision, widened by the error of that
// evaluation.
Concrete concretize(const SymbolicForm& f, const GeneratorBox& box);

// Adds `radius[e]` (>= 0) to D's row 0: the form then also covers an error
// of that size.
void widen(SymbolicForm& f, std::span<const double> radius);

// The transforms below round each coefficient once or twice; the caller
// widens the result by a few units of roundoff of its magnitude.
// v -> a * v + c elementwise (a, c per element; `c` may be empty).
SymbolicForm affine(const SymbolicForm& f, std::span<const double> a, std::span<const double> c);
// v1 + sign * v2 (same numel).
SymbolicForm add(const SymbolicForm& a, const SymbolicForm& b, double sign);

// Relu of a value whose actual elements lie in [lo, hi] (the tightest
// concrete bounds known, not necessarily the form's own): identity where
// lo >= 0, zero where hi <= 0, else DeepPoly's relaxation -- upper
// hi (v - lo) / (hi - lo), lower v when hi > -lo, else 0.
SymbolicForm relu(const SymbolicForm& f, std::span<const double> lo, std::span<const double> hi);

// Max over windows: output element o is the max of input elements
// windows[offsets[o] .. offsets[o+1]). DeepPoly's rule, with [lo, hi] the
// input's concrete bounds: lower = L of the element with the largest lo;
// upper = U of that element when its lo is at least every other element's
// hi (it is then the max), else the constant max hi.
SymbolicForm max_over(const SymbolicForm& f, std::span<const double> lo, std::span<const double> hi,
                      std::span<const int64_t> offsets, std::span<const int64_t> windows);

// Where the form's upper (lower) function concretises clearly above `hi`
// (below `lo`: by over a quarter of hi - lo) -- bounds of the same value
// known otherwise -- replaces that
// function by the constant hi (lo), and updates `c`. So a form never bounds
// an element much worse than the interval does.
void clamp_to(SymbolicForm& f, Concrete& c, std::span<const float> lo, std::span<const float> hi);

}  // namespace save
