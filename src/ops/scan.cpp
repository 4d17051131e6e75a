// Scan (opset 8 and 9+): a body subgraph (ir/graph.hpp: Subgraph) run once
// per slice of its scan inputs, with carried states; captured outer values
// arrive as the node's trailing inputs (helpers: ops/control_flow_util.hpp).
// The trip count is the scan axis' length, always known at plan time.
//
// Interval rule: the body's rule iterated once per slice (the slice's
// bounds, the states' bounds from the previous slice), which is exact in
// the number of steps, so no widening beyond the body's own rules.
#include <cstring>

#include "ops/control_flow_util.hpp"
#include "ops/registry.hpp"

namespace save {

namespace {

// ---- Scan ----
// Opset 9+: node inputs N states, M scan inputs, captures. Body inputs: N
// states, M slices, captures; outputs: N states, K slices.
// Opset 8: a leading sequence_lens input and a batch axis 0 on every input
// and output (scan axis 1): the same scan run once per batch entry. ONNX's
// version converter drops that axis from the graph's declared inputs, so
// the importer keeps such models at opset 8 (import/onnx_import.cpp).

struct ScanShape {
  size_t first = 0;  // 1 for opset 8 (sequence_lens)
  bool batched = false;
  size_t states = 0, scan_in = 0, scan_out = 0;
  std::vector<int64_t> in_axes, in_dirs, out_axes, out_dirs;
};

ScanShape scan_shape(const Node& n, int64_t opset, const Subgraph& body) {
  ScanShape s;
  s.batched = opset < 9;
  s.first = s.batched ? 1 : 0;
  const int64_t m = n.attrs.int_("num_scan_inputs");
  SAVE_NODE_CHECK(m >= 1 && static_cast<size_t>(m) <= body.num_formal, n,
                  "num_scan_inputs {} does not fit its body's {} inputs", m, body.num_formal);
  s.scan_in = static_cast<size_t>(m);
  s.states = body.num_formal - s.scan_in;
  SAVE_NODE_CHECK(body.graph.outputs.size() >= s.states, n,
                  "its body gives {} outputs for {} states", body.graph.outputs.size(), s.states);
  s.scan_out = body.graph.outputs.size() - s.states;
  SAVE_NODE_CHECK(n.outputs.size() == s.states + s.scan_out, n,
                  "has {} outputs; its body gives {} states and {} scan outputs", n.outputs.size(),
                  s.states, s.scan_out);
  auto list = [&](const char* name, size_t count) {
    std::vector<int64_t> v = n.attrs.get_ints(name, std::vector<int64_t>(count, 0));
    SAVE_NODE_CHECK(v.size() == count, n, "attribute '{}' has {} entries; {} expected", name,
                    v.size(), count);
    return v;
  };
  if (s.batched) {
    s.in_axes.assign(s.scan_in, 0);
    s.in_dirs = list("directions", s.scan_in);
    s.out_axes.assign(s.scan_out, 0);
    s.out_dirs.assign(s.scan_out, 0);
  } else {
    s.in_axes = list("scan_input_axes", s.scan_in);
    s.in_dirs = list("scan_input_directions", s.scan_in);
    s.out_axes = list("scan_output_axes", s.scan_out);
    s.out_dirs = list("scan_output_directions", s.scan_out);
  }
  return s;
}

// Normalises the input axes against the (per batch entry) scan inputs'
// shapes and returns the common trip count.
int64_t scan_trips(const Node& n, ScanShape& s, const std::vector<Shape>& scan_shapes) {
  int64_t trips = -1;
  for (size_t j = 0; j < s.scan_in; ++j) {
    const auto rank = static_cast<int64_t>(scan_shapes[j].size());
    s.in_axes[j] = normalize_axis(s.in_axes[j], rank, n);
    const int64_t len = scan_shapes[j][static_cast<size_t>(s.in_axes[j])];
    SAVE_NODE_CHECK(trips < 0 || trips == len, n,
                    "scan inputs have lengths {} and {} along their scan axes", trips, len);
    trips = len;
  }
  return trips;
}

Shape drop_batch(const Shape& shape, bool batched) {
  if (!batched || shape.empty()) return shape;
  return Shape(shape.begin() + 1, shape.end());
}

// Entry b of a batched view (axis 0 removed).
TensorView batch_entry(const TensorView& v, int64_t b) {
  if (v.data == nullptr) return v;
  const size_t stride = v.dim(0) == 0 ? 0 : v.nbytes() / static_cast<size_t>(v.dim(0));
  return TensorView{v.dtype, v.shape.subspan(1),
                    static_cast<std::byte*>(v.data) + static_cast<size_t>(b) * stride};
}

void check_sequence_lens(const Node& n, const ScanShape& s, const TensorView* lens, int64_t trips) {
  if (!s.batched || lens == nullptr || lens->data == nullptr) return;
  for (int64_t b = 0; b < lens->numel(); ++b) {
    const int64_t len = dispatch_dtype(lens->dtype, [&](auto tag) {
      using T = decltype(tag);
      return static_cast<int64_t>(static_cast<const T*>(lens->data)[b]);
    });
    SAVE_NODE_CHECK(len == trips, n,
                    "sequence_lens[{}] is {}, shorter than the scan axis ({}): variable "
                    "lengths are not supported",
                    b, len, trips);
  }
}

void infer_scan(InferContext& ctx) {
  const Node& n = ctx.node;
  const Subgraph& body = graph_attr(n, "body");
  ScanShape s = scan_shape(n, ctx.opset, body);
  std::vector<Shape> scan_shapes;
  for (size_t j = 0; j < s.scan_in; ++j)
    scan_shapes.push_back(drop_batch(ctx.input(s.first + s.states + j).shape, s.batched));
  const int64_t trips = scan_trips(n, s, scan_shapes);
  std::vector<TensorInfo> infos;
  std::vector<const Tensor*> consts;
  for (size_t i = 0; i < s.states; ++i) {
    const TensorInfo& in = ctx.input(s.first + i);
    infos.push_back({in.dtype, drop_batch(in.shape, s.batched)});
    consts.push_back(nullptr);
  }
  for (size_t j = 0; j < s.scan_in; ++j) {
    TensorInfo slice{ctx.input(s.first + s.states + j).dtype, scan_shapes[j]};
    slice.shape.erase(slice.shape.begin() + s.in_axes[j]);
    infos.push_back(slice);
    consts.push_back(nullptr);
  }
  add_captures(ctx, body, infos, consts);
  SubgraphInfo r = infer_subgraph(body, n, infos, consts);
  int64_t batch = -1;
  if (s.batched) {
    const TensorInfo& first = ctx.input(s.first);
    SAVE_NODE_CHECK(!first.shape.empty(), n, "opset-8 Scan inputs need a batch axis");
    batch = first.shape[0];
  }
  for (size_t i = 0; i < s.states; ++i) {
    const TensorInfo& a = infos[i];
    const TensorInfo& b = r.outputs[i];
    SAVE_NODE_CHECK(a.dtype == b.dtype && a.shape == b.shape, n,
                    "state {} enters as {} {} and leaves the body as {} {}: the engine plans "
                    "fixed shapes",
                    i, dtype_name(a.dtype), shape_str(a.shape), dtype_name(b.dtype),
                    shape_str(b.shape));
    ctx.set_output(i, a.dtype, ctx.input(s.first + i).shape);
  }
  for (size_t k = 0; k < s.scan_out; ++k) {
    Shape shape = r.outputs[s.states + k].shape;
    const int64_t axis = normalize_axis(s.out_axes[k], static_cast<int64_t>(shape.size()) + 1, n);
    shape.insert(shape.begin() + axis, trips);
    if (s.batched) shape.insert(shape.begin(), batch);
    ctx.set_output(s.states + k, r.outputs[s.states + k].dtype, shape);
  }
}

// One scan (one batch entry for opset 8) over values of some kind: Tensor
// (run) or Bounds (interval). `slice(j, t)` cuts slice t of scan input j,
// `run_body` runs the body, `place(k, p, v)` puts slice v of scan output k at
// position p.
template <typename Value, typename Slice, typename Body, typename Place>
std::vector<Value> scan_loop(const ScanShape& s, int64_t trips, std::vector<Value> state,
                             Slice slice, Body run_body, Place place) {
  for (int64_t t = 0; t < trips; ++t) {
    std::vector<Value> in = state;
    for (size_t j = 0; j < s.scan_in; ++j) in.push_back(slice(j, s.in_dirs[j] ? trips - 1 - t : t));
    std::vector<Value> outs = run_body(in);
    for (size_t i = 0; i < s.states; ++i) state[i] = outs[i];
    for (size_t k = 0; k < s.scan_out; ++k)
      place(k, s.out_dirs[k] ? trips - 1 - t : t, outs[s.states + k]);
  }
  return state;
}

// The per-batch-entry views: the whole view when not batched.
TensorView entry(const ScanShape& s, const TensorView& v, int64_t b) {
  return s.batched ? batch_entry(v, b) : v;
}

void reference_scan(const KernelContext& ctx) {
  const Node& n = ctx.node;
  const Subgraph& body = graph_attr(n, "body");
  ScanShape s = scan_shape(n, ctx.opset, body);
  std::vector<Shape> scan_shapes;
  for (size_t j = 0; j < s.scan_in; ++j) {
    const TensorView& v = ctx.inputs[s.first + s.states + j];
    scan_shapes.push_back(drop_batch(Shape(v.shape.begin(), v.shape.end()), s.batched));
  }
  const int64_t trips = scan_trips(n, s, scan_shapes);
  if (s.batched) check_sequence_lens(n, s, &ctx.inputs[0], trips);
  std::vector<Tensor> caps;
  add_captures(ctx, body, caps);
  const int64_t batches = s.batched ? ctx.inputs[s.first].dim(0) : 1;
  for (int64_t bi = 0; bi < batches; ++bi) {
    std::vector<Tensor> state;
    for (size_t i = 0; i < s.states; ++i)
      state.push_back(copy_of(entry(s, ctx.inputs[s.first + i], bi)));
    std::vector<TensorView> outs;
    std::vector<int64_t> out_axes(s.scan_out);
    for (size_t k = 0; k < s.scan_out; ++k) {
      outs.push_back(entry(s, ctx.outputs[s.states + k], bi));
      out_axes[k] = normalize_axis(s.out_axes[k], static_cast<int64_t>(outs[k].rank()), n);
    }
    state = scan_loop<Tensor>(
        s, trips, state,
        [&](size_t j, int64_t t) {
          return slice_axis(entry(s, ctx.inputs[s.first + s.states + j], bi), s.in_axes[j], t);
        },
        [&](std::vector<Tensor> in) {
          in.insert(in.end(), caps.begin(), caps.end());
          return run_subgraph(body, n, in);
        },
        [&](size_t k, int64_t p, const Tensor& v) {
          if (outs[k].data != nullptr) place_axis(outs[k], out_axes[k], p, v.view());
        });
    for (size_t i = 0; i < s.states; ++i) store(n, i, state[i], entry(s, ctx.outputs[i], bi));
  }
}

Bounds entry_bounds(const ScanShape& s, const Bounds& b, int64_t bi) {
  if (!s.batched) return b;
  const TensorView lo = batch_entry(b.lo.view(), bi);
  if (!b.known) return Bounds::unbounded({lo.dtype, Shape(lo.shape.begin(), lo.shape.end())});
  return Bounds{true, copy_of(lo), copy_of(batch_entry(b.hi.view(), bi))};
}

void interval_scan(const IntervalContext& ctx) {
  const Node& n = ctx.node;
  const Subgraph& body = graph_attr(n, "body");
  ScanShape s = scan_shape(n, ctx.opset, body);
  std::vector<Shape> scan_shapes;
  for (size_t j = 0; j < s.scan_in; ++j) {
    const TensorView& v = ctx.lo[s.first + s.states + j];
    scan_shapes.push_back(drop_batch(Shape(v.shape.begin(), v.shape.end()), s.batched));
  }
  const int64_t trips = scan_trips(n, s, scan_shapes);
  std::vector<Bounds> all_state, all_scans, caps;
  for (size_t i = 0; i < s.states; ++i) all_state.push_back(bounds_of(ctx, s.first + i));
  for (size_t j = 0; j < s.scan_in; ++j)
    all_scans.push_back(bounds_of(ctx, s.first + s.states + j));
  add_captures(ctx, body, caps);
  const int64_t batches = s.batched ? ctx.lo[s.first].dim(0) : 1;
  for (int64_t bi = 0; bi < batches; ++bi) {
    std::vector<Bounds> state, scans;
    for (const Bounds& b : all_state) state.push_back(entry_bounds(s, b, bi));
    for (const Bounds& b : all_scans) scans.push_back(entry_bounds(s, b, bi));
    std::vector<TensorView> out_lo, out_hi;
    std::vector<int64_t> out_axes(s.scan_out);
    for (size_t k = 0; k < s.scan_out; ++k) {
      out_lo.push_back(entry(s, ctx.out_lo[s.states + k], bi));
      out_hi.push_back(entry(s, ctx.out_hi[s.states + k], bi));
      out_axes[k] = normalize_axis(s.out_axes[k], static_cast<int64_t>(out_lo[k].rank()), n);
    }
    state = scan_loop<Bounds>(
        s, trips, state,
        [&](size_t j, int64_t t) {
          const Bounds& b = scans[j];
          Tensor lo = slice_axis(b.lo.view(), s.in_axes[j], t);
          if (!b.known) return Bounds::unbounded({lo.dtype(), lo.shape()});
          return Bounds{true, lo, slice_axis(b.hi.view(), s.in_axes[j], t)};
        },
        [&](std::vector<Bounds> in) {
          in.insert(in.end(), caps.begin(), caps.end());
          return interval_subgraph(body, n, in, ctx.opts);
        },
        [&](size_t k, int64_t p, const Bounds& v) {
          if (out_lo[k].data == nullptr) return;
          if (!v.known) {
            ctx.out_known[s.states + k] = 0;
            return;
          }
          place_axis(out_lo[k], out_axes[k], p, v.lo.view());
          place_axis(out_hi[k], out_axes[k], p, v.hi.view());
        });
    for (size_t i = 0; i < s.states; ++i) {
      const TensorView lo = entry(s, ctx.out_lo[i], bi), hi = entry(s, ctx.out_hi[i], bi);
      if (lo.data == nullptr) continue;
      if (!state[i].known) {
        ctx.out_known[i] = 0;
        continue;
      }
      std::memcpy(lo.data, state[i].lo.data(), lo.nbytes());
      std::memcpy(hi.data, state[i].hi.data(), hi.nbytes());
    }
  }
  *ctx.exact_arith = true;
}

const OpDef kScan{"Scan", &infer_scan, &reference_scan, nullptr, false, &interval_scan};

}  // namespace

void register_scan_ops(OpRegistry& r) {
  r.add(kScan);
}

}  // namespace save
