// Pieces shared by Conv and ConvTranspose (conv.cpp, conv_transpose.cpp):
// the 3D view of 1D/2D/3D window geometry for the reference kernels and the
// oneDNN kernel wrapper that keeps activations plain at its boundary.
#pragma once

#include <cstring>
#include <dnnl.hpp>
#include <memory>
#include <vector>

#include "ops/fused.hpp"
#include "ops/op.hpp"
#include "ops/window.hpp"

namespace save {

// Window geometry padded to 3 spatial axes (leading unit axes), so the
// reference loops are written once for 1D, 2D and 3D.
struct Spatial3 {
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
  explicit Spatial3(const WindowGeom& g) {
    const size_t off = 3 - g.nsp;
    for (size_t i = 0; i < 3; ++i) {
      in[i] = out[i] = k[i] = s[i] = d[i] = 1;
      pb[i] = 0;
    }
    for (size_t i = 0; i < g.nsp; ++i) {
      in[off + i] = g.in[i];
      out[off + i] = g.out[i];
      k[off + i] = g.kernel[i];
      s[off + i] = g.stride[i];
      d[off + i] = g.dilation[i];
      pb[off + i] = g.pad_begin[i];
    }
  }
};

// A oneDNN convolution/deconvolution primitive with plain activations at the
// boundary. Weights are reordered into the primitive's layout once and again
// whenever the constants epoch (or their address) changes; weights that are
// not plan-time constants are reordered on every run.
class DnnlWeightedKernel : public Kernel {
 public:
  DnnlWeightedKernel(dnnl::engine& eng, dnnl::stream& strm, dnnl::primitive prim,
                     const dnnl::memory::desc& src_md, const dnnl::memory::desc& w_md,
                     const dnnl::memory::desc& dst_md, const dnnl::memory::desc& x_plain,
                     const dnnl::memory::desc& w_user, const dnnl::memory::desc& y_plain,
                     bool w_const, bool has_bias, const DnnlFusion* fusion = nullptr)
      : eng_(eng),
        strm_(strm),
        prim_(std::move(prim)),
        x_plain_(x_plain),
        w_user_(w_user),
        y_plain_(y_plain),
        w_const_(w_const),
        has_bias_(has_bias) {
    using dnnl::memory;
    using dnnl::reorder;
    if (src_md != x_plain) {
      src_int_ = memory(src_md, eng);
      src_reorder_ = reorder(reorder::primitive_desc(eng, x_plain, eng, src_md));
    }
    if (w_md != w_user) {
      w_int_ = memory(w_md, eng);
      w_reorder_ = reorder(reorder::primitive_desc(eng, w_user, eng, w_md));
    }
    if (dst_md != y_plain) {
      dst_int_ = memory(dst_md, eng);
      dst_reorder_ = reorder(reorder::primitive_desc(eng, dst_md, eng, y_plain));
    }
    if (fusion != nullptr) {
      binaries_ = fusion->binaries;
      sum_input_ = fusion->sum_input;
      // The sum post-op adds what dst holds: the operand, in dst's layout.
      if (sum_input_ >= 0 && dst_int_)
        sum_reorder_ = reorder(reorder::primitive_desc(eng, y_plain, eng, dst_md));
    }
  }

  void run(const KernelContext& ctx) override {
    using dnnl::memory;
    memory x(x_plain_, eng_, ctx.inputs[0].data);
    memory y(y_plain_, eng_, ctx.outputs[0].data);
    memory w_user(w_user_, eng_, ctx.inputs[1].data);
    memory w = w_user;
    if (w_int_) {
      const bool stale =
          !w_ready_ || !w_const_ || w_epoch_ != ctx.constants_epoch || w_ptr_ != ctx.inputs[1].data;
      if (stale) {
        w_reorder_.execute(strm_, w_user, w_int_);
        w_ready_ = true;
        w_epoch_ = ctx.constants_epoch;
        w_ptr_ = ctx.inputs[1].data;
      }
      w = w_int_;
    }
    memory src = x;
    if (src_int_) {
      src_reorder_.execute(strm_, x, src_int_);
      src = src_int_;
    }
    memory dst = dst_int_ ? dst_int_ : y;
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    if (has_bias_) {
      args[DNNL_ARG_BIAS] = memory(
          memory::desc({ctx.inputs[2].dim(0)}, memory::data_type::f32, memory::format_tag::a), eng_,
          ctx.inputs[2].data);
    }
    for (const DnnlFusion::Binary& b : binaries_)
      args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(b.index) | DNNL_ARG_SRC_1] =
          memory(b.desc, eng_, ctx.inputs[b.input].data);
    if (sum_input_ >= 0) {
      const TensorView& r = ctx.inputs[static_cast<size_t>(sum_input_)];
      if (dst_int_) {
        memory res(y_plain_, eng_, r.data);
        sum_reorder_.execute(strm_, res, dst_int_);
      } else if (r.data != ctx.outputs[0].data)
        std::memcpy(ctx.outputs[0].data, r.data, r.nbytes());
    }
    prim_.execute(strm_, args);
    if (dst_int_) dst_reorder_.execute(strm_, dst_int_, y);
    strm_.wait();
  }

 private:
  dnnl::engine& eng_;
  dnnl::stream& strm_;
  dnnl::primitive prim_;
  dnnl::memory::desc x_plain_, w_user_, y_plain_;
  bool w_const_, has_bias_;
  dnnl::memory src_int_, w_int_, dst_int_;
  dnnl::reorder src_reorder_, w_reorder_, dst_reorder_, sum_reorder_;
  std::vector<DnnlFusion::Binary> binaries_;  // post-op operands (fused ops)
  int sum_input_ = -1;
  bool w_ready_ = false;
  uint64_t w_epoch_ = 0;
  const void* w_ptr_ = nullptr;
};

}  // namespace save
