// DepthToSpace and SpaceToDepth: each is a reshape to 6-D, a transpose and a
// reshape back, so both run the shared permuted copy (oneDNN reorder as the
// fast kernel). Registered by register_data_movement_ops.
#include <array>

#include "ops/interval.hpp"
#include "ops/movement_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

struct Rearrange {
  std::array<int64_t, 6> shape;  // the input viewed as 6-D
  std::array<int64_t, 6> perm;
};

// How op `n` rearranges an [N, C, H, W] input, validating it.
Rearrange rearrange(const Node& n, std::span<const int64_t> x, int64_t* out_shape) {
  SAVE_NODE_CHECK(x.size() == 4, n, "input must be 4-D [N, C, H, W], got shape {}", shape_str(x));
  int64_t b = n.attrs.get_int("blocksize", 0);
  SAVE_NODE_CHECK(b >= 1, n, "attribute blocksize must be positive, got {}", b);
  int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (n.op == "DepthToSpace") {
    SAVE_NODE_CHECK(C % (b * b) == 0, n, "channels {} are not a multiple of blocksize^2 = {}", C,
                    b * b);
    int64_t c = C / (b * b);
    std::string mode = n.attrs.get_string("mode", "DCR");
    SAVE_NODE_CHECK(mode == "DCR" || mode == "CRD", n, "mode must be DCR or CRD, got '{}'", mode);
    if (out_shape != nullptr) {
      out_shape[0] = N;
      out_shape[1] = c;
      out_shape[2] = H * b;
      out_shape[3] = W * b;
    }
    if (mode == "DCR") return {{N, b, b, c, H, W}, {0, 3, 4, 1, 5, 2}};
    return {{N, c, b, b, H, W}, {0, 1, 4, 2, 5, 3}};
  }
  SAVE_NODE_CHECK(H % b == 0 && W % b == 0, n,
                  "height {} and width {} must be multiples of blocksize {}", H, W, b);
  if (out_shape != nullptr) {
    out_shape[0] = N;
    out_shape[1] = C * b * b;
    out_shape[2] = H / b;
    out_shape[3] = W / b;
  }
  return {{N, C, H / b, b, W / b, b}, {0, 3, 5, 1, 2, 4}};
}

void infer(InferContext& ctx) {
  const TensorInfo& x = ctx.input(0);
  Shape out(4);
  rearrange(ctx.node, x.shape, out.data());
  ctx.set_output(0, x.dtype, std::move(out));
}

void reference(const KernelContext& ctx) {
  const TensorView& x = ctx.inputs[0];
  Rearrange re = rearrange(ctx.node, x.shape, nullptr);
  mv::permute_copy(x.data, ctx.outputs[0].data, re.shape, re.perm, dtype_size(x.dtype));
}

std::unique_ptr<Kernel> fast(const PrepareContext& ctx) {
  Rearrange re = rearrange(ctx.node, ctx.inputs[0]->shape, nullptr);
  return mv::make_permute_kernel(ctx, re.shape, re.perm);
}

// Interval rules: permutations of the data.
const OpDef kDepthToSpace{"DepthToSpace", infer, reference, fast, false, interval_copy};
const OpDef kSpaceToDepth{"SpaceToDepth", infer, reference, fast, false, interval_copy};

}  // namespace

void register_depth_space_ops(OpRegistry& r) {
  r.add(kDepthToSpace);
  r.add(kSpaceToDepth);
}

}  // namespace save
