#include "data/input_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "analysis/range_analysis.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "data/npy.hpp"
#include "exec/session.hpp"

namespace save {

namespace {

namespace fs = std::filesystem;

// "[N, 3, H, W]": the declared shape, unknown dims by their symbol (or ?).
std::string declared(const Value& v) {
  if (!v.has_shape) return "(no declared shape)";
  std::vector<std::string> d;
  for (const Dim& x : v.shape)
    d.push_back(x.known() ? std::to_string(x.size) : (x.symbol.empty() ? "?" : x.symbol));
  return fmt::format("[{}]", fmt::join(d, ", "));
}

// "3x10x10", as --input-shape spells shapes.
std::string dims_x(const Shape& s) {
  std::vector<std::string> d;
  for (int64_t x : s) d.push_back(std::to_string(x));
  return fmt::format("{}", fmt::join(d, "x"));
}

std::string model_inputs(const Graph& g) {
  std::vector<std::string> names;
  for (ValueId v : g.inputs) names.push_back("'" + g.values[v].name + "'");
  return fmt::format("{}", fmt::join(names, ", "));
}

size_t input_index(const Graph& g, const std::string& name, const char* flag) {
  for (size_t i = 0; i < g.inputs.size(); ++i)
    if (g.values[g.inputs[i]].name == name) return i;
  throw Error(fmt::format("{}: the model has no input named '{}' (its inputs: {})", flag, name,
                          model_inputs(g)));
}

// The samples of a folder: every *.npy in name order, one sample each,
// stacked along a new axis 0 (a file with a leading axis of 1 and the
// input's rank counts as one sample too).
Tensor read_folder(const std::string& dir, const Value& v, std::string& hash_text) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npy") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  SAVE_CHECK(!files.empty(), "--input {}={}: the folder holds no .npy files (one per sample)",
             v.name, dir);
  const size_t rank = v.shape.size();
  Tensor first;
  Shape sample;
  std::vector<Tensor> parts;
  for (const fs::path& f : files) {
    Tensor t = read_npy(f.string());
    hash_text += f.filename().string() + ":" + file_sha256(f.string()) + "\n";
    Shape s = t.shape();
    if (v.has_shape && s.size() == rank && rank > 0 && s[0] == 1) s.erase(s.begin());
    if (parts.empty()) {
      sample = s;
      SAVE_CHECK(!v.has_shape || s.size() + 1 == rank,
                 "--input {}={}: '{}' holds shape {}; input '{}' is {} so each file must be one "
                 "sample of rank {} (or rank {} with a leading 1)",
                 v.name, dir, f.filename().string(), shape_str(t.shape()), v.name, declared(v),
                 rank > 0 ? rank - 1 : 0, rank);
    }
    SAVE_CHECK(parts.empty() || (s == sample && t.dtype() == parts.front().dtype()),
               "--input {}={}: '{}' holds {} of shape {}, '{}' {} of shape {}: every sample of a "
               "folder must have the same dtype and shape",
               v.name, dir, f.filename().string(), dtype_name(t.dtype()), shape_str(t.shape()),
               files.front().filename().string(), dtype_name(parts.front().dtype()),
               shape_str(parts.front().shape()));
    parts.push_back(t.reshaped(s));
  }
  Shape all = sample;
  all.insert(all.begin(), static_cast<int64_t>(parts.size()));
  Tensor out(parts.front().dtype(), all);
  size_t off = 0;
  for (const Tensor& t : parts) {
    std::memcpy(static_cast<std::byte*>(out.data()) + off, t.data(), t.nbytes());
    off += t.nbytes();
  }
  return out;
}

// Checks one input's data against the model's declaration: dtype, rank,
// fixed dims past the sample axis. Returns the model's fixed batch (0:
// dynamic).
int64_t check_against_model(const Value& v, const Tensor& t, const std::string& where,
                            bool shared) {
  SAVE_CHECK(t.dtype() == v.dtype,
             "{}: input '{}' is {}, the data is {} (convert it, e.g. numpy's "
             "x.astype(np.{}))",
             where, v.name, dtype_name(v.dtype), dtype_name(t.dtype()),
             v.dtype == DType::kF32 ? "float32" : std::string(dtype_name(v.dtype)));
  if (!v.has_shape) return 0;
  if (shared) {
    SAVE_CHECK(t.rank() == 0, "{}: input '{}' is a scalar (rank 0), the data has shape {}", where,
               v.name, shape_str(t.shape()));
    return 0;
  }
  SAVE_CHECK(t.rank() == v.shape.size(),
             "{}: input '{}' is {} (rank {}), the data has shape {} (rank {}); axis 0 is the "
             "sample axis (numpy: add one with x[None])",
             where, v.name, declared(v), v.shape.size(), shape_str(t.shape()), t.rank());
  for (size_t d = 1; d < v.shape.size(); ++d)
    SAVE_CHECK(!v.shape[d].known() || v.shape[d].size == t.shape()[d],
               "{}: input '{}' is {}, dim {} of the data is {} (the model fixes it at {})", where,
               v.name, declared(v), d, t.shape()[d], v.shape[d].size);
  return v.shape[0].known() ? v.shape[0].size : 0;
}

}  // namespace

std::vector<InputBinding> parse_input_bindings(const std::vector<std::string>& specs) {
  std::vector<InputBinding> out;
  std::set<std::string> seen;
  for (const std::string& s : specs) {
    const size_t eq = s.find('=');
    SAVE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < s.size(),
               "--input '{}': expected NAME=FILE.npy or NAME=FOLDER", s);
    InputBinding b{s.substr(0, eq), s.substr(eq + 1)};
    SAVE_CHECK(seen.insert(b.name).second, "--input '{}' is given twice (each model input once)",
               b.name);
    out.push_back(std::move(b));
  }
  return out;
}

std::map<std::string, Shape> parse_input_shapes(const Graph& g,
                                                const std::vector<std::string>& specs) {
  std::map<std::string, Shape> out;
  for (const std::string& s : specs) {
    auto [name, shape] = parse_input_shape(s);
    const Value& v = g.values[g.inputs[input_index(g, name, "--input-shape")]];
    SAVE_CHECK(out.emplace(name, shape).second, "--input-shape: input '{}' is given twice", name);
    for (int64_t d : shape)
      SAVE_CHECK(d >= 1, "--input-shape '{}': every dim must be 1 or more", s);
    if (!v.has_shape) continue;
    SAVE_CHECK(shape.size() == v.shape.size(),
               "--input-shape '{}': input '{}' is {} (rank {}), not rank {}", s, name, declared(v),
               v.shape.size(), shape.size());
    for (size_t d = 0; d < shape.size(); ++d)
      SAVE_CHECK(!v.shape[d].known() || v.shape[d].size == shape[d],
                 "--input-shape '{}': input '{}' is {}, the model fixes dim {} at {}", s, name,
                 declared(v), d, v.shape[d].size);
  }
  return out;
}

Dataset load_input_set(const Graph& g, const InputOptions& o) {
  SAVE_CHECK(o.data.empty() || o.inputs.empty(),
             "give --data or --input NAME=FILE.npy, not both (--data feeds a single-input "
             "model)");
  SAVE_CHECK(o.has_data(),
             "give the inputs: --input NAME=FILE.npy (or NAME=FOLDER) per model "
             "input, or --data fashion-mnist");
  SAVE_CHECK(!g.inputs.empty(), "the model has no inputs to feed");
  const std::map<std::string, Shape> shapes = parse_input_shapes(g, o.shapes);
  Dataset ds;
  const size_t n_in = g.inputs.size();
  ds.inputs.resize(n_in);
  ds.shared.assign(n_in, 0);
  std::vector<std::string> where(n_in);
  std::string hash_text;
  if (!o.data.empty()) {
    SAVE_CHECK(n_in == 1,
               "--data feeds a single-input model; this one has {} inputs ({}): give --input "
               "NAME=FILE.npy for each",
               n_in, model_inputs(g));
    Dataset d = load_dataset(o.data);
    ds.inputs[0] = d.images;
    where[0] = "--data " + o.data;
    ds.source = o.data;
    std::error_code ec;
    if (fs::is_regular_file(o.data, ec)) ds.sha256 = file_sha256(o.data);
    ds.labels = std::move(d.labels);  // the named sets' own labels
  } else {
    std::vector<bool> bound(n_in, false);
    std::vector<std::string> parts;
    for (const InputBinding& b : parse_input_bindings(o.inputs)) {
      const size_t i = input_index(g, b.name, "--input");
      const Value& v = g.values[g.inputs[i]];
      bound[i] = true;
      where[i] = fmt::format("--input {}={}", b.name, b.path);
      std::error_code ec;
      SAVE_CHECK(fs::exists(b.path, ec), "{}: no such file or folder", where[i]);
      ds.shared[i] = v.has_shape && v.shape.empty();
      if (fs::is_directory(b.path, ec)) {
        SAVE_CHECK(!ds.shared[i],
                   "{}: input '{}' is a scalar shared by every sample: give one "
                   ".npy file, not a folder",
                   where[i], b.name);
        ds.inputs[i] = read_folder(b.path, v, hash_text);
      } else {
        ds.inputs[i] = read_npy(b.path);
        hash_text += b.name + ":" + file_sha256(b.path) + "\n";
      }
      parts.push_back(b.name + "=" + b.path);
    }
    for (size_t i = 0; i < n_in; ++i)
      SAVE_CHECK(bound[i], "input '{}' of the model ({}) is not given: add --input {}=FILE.npy",
                 g.values[g.inputs[i]].name, declared(g.values[g.inputs[i]]),
                 g.values[g.inputs[i]].name);
    // Bound in the model's order, so the same inputs key the same campaign.
    std::vector<std::string> ordered(n_in);
    for (const std::string& p : parts) ordered[input_index(g, p.substr(0, p.find('=')), "")] = p;
    ds.source = fmt::format("{}", fmt::join(ordered, " "));
    ds.sha256 = sha256_hex(hash_text);
  }
  // Every input against the model, and one sample count for all.
  int64_t samples = -1;
  std::string samples_from;
  for (size_t i = 0; i < n_in; ++i) {
    const Value& v = g.values[g.inputs[i]];
    ds.names.push_back(v.name);
    const Tensor& t = ds.inputs[i];
    const int64_t fixed = check_against_model(v, t, where[i], ds.shared[i]);
    if (ds.shared[i]) continue;
    SAVE_CHECK(t.rank() >= 1, "{}: input '{}' needs a leading sample axis (the data is a scalar)",
               where[i], v.name);
    const int64_t n = t.shape()[0];
    if (samples < 0) {
      samples = n;
      samples_from = where[i];
    }
    SAVE_CHECK(n == samples,
               "{} holds {} samples, {} holds {}: every input needs one row per "
               "sample",
               where[i], n, samples_from, samples);
    if (fixed > 0) {
      SAVE_CHECK(ds.fixed_batch == 0 || ds.fixed_batch == fixed,
                 "the model fixes the batch of input '{}' at {} and of another input at {}", v.name,
                 fixed, ds.fixed_batch);
      ds.fixed_batch = fixed;
    }
    if (auto it = shapes.find(v.name); it != shapes.end()) {
      Shape want = it->second, got = t.shape();
      want.erase(want.begin());
      got.erase(got.begin());
      SAVE_CHECK(want == got,
                 "--input-shape {}={}: {} holds samples of shape {} (after the sample axis)",
                 v.name, dims_x(it->second), where[i], dims_x(got));
    }
  }
  SAVE_CHECK(samples >= 0,
             "every input of the model is a shared scalar: there is no sample axis "
             "to campaign over");
  SAVE_CHECK(samples > 0, "{} holds no samples", samples_from);
  SAVE_CHECK(ds.fixed_batch == 0 || samples % ds.fixed_batch == 0,
             "the model runs batches of exactly {} (a fixed batch dim), {} holds {} samples: give "
             "a multiple of {}",
             ds.fixed_batch, samples_from, samples, ds.fixed_batch);
  ds.samples = samples;
  ds.images = ds.inputs[0];
  if (!o.labels.empty()) ds.labels = read_labels(o.labels, samples);
  return ds;
}

std::map<std::string, Shape> analysis_shapes(const Graph& g, const InputOptions& o,
                                             const Dataset* data) {
  std::map<std::string, Shape> out = parse_input_shapes(g, o.shapes);
  if (!data) return out;
  for (size_t i = 0; i < data->inputs.size() && i < g.inputs.size(); ++i) {
    const std::string& name = g.values[g.inputs[i]].name;
    if (out.count(name)) continue;
    Shape s = data->inputs[i].shape();
    if (!data->shared[i] && !s.empty()) s[0] = data->fixed_batch > 0 ? data->fixed_batch : 1;
    out[name] = s;
  }
  return out;
}

int64_t effective_batch(const Dataset& data, int64_t wanted) {
  return data.fixed_batch > 0 ? data.fixed_batch : wanted;
}

std::string describe_shapes(const Graph& g, const std::vector<Tensor>& inputs) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < inputs.size() && i < g.inputs.size(); ++i) {
    std::vector<std::string> d;
    for (int64_t x : inputs[i].shape()) d.push_back(std::to_string(x));
    parts.push_back(
        fmt::format("{}: {}", g.values[g.inputs[i]].name,
                    d.empty() ? std::string("scalar") : fmt::format("{}", fmt::join(d, "x"))));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

void check_model_takes(Session& session, const Dataset& data, int64_t batch) {
  const std::vector<Tensor> first = batch_of(data, 0, std::min(batch, data.size()));
  try {
    session.validate_inputs(first);
    session.plan_for(first);
  } catch (const Error& e) {
    throw Error(fmt::format("the model cannot run inputs of shape {} ({}): {}",
                            describe_shapes(session.graph(), first), data.source, e.what()));
  }
}

}  // namespace save
