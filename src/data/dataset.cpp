#include "data/dataset.hpp"

#include <zlib.h>

#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "data/npy.hpp"

namespace save {

namespace {
std::string read_gz_or_plain(const std::string& path) {
  SAVE_CHECK(std::filesystem::exists(path), "cannot open '{}': no such file", path);
  gzFile f = gzopen(path.c_str(), "rb");  // zlib reads plain files transparently
  SAVE_CHECK(f != nullptr, "cannot open '{}'", path);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string emsg = msg ? msg : "";
  gzclose(f);
  SAVE_CHECK(n == 0 && err == Z_OK, "'{}': read failed ({})", path, emsg);
  return out;
}
uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
}  // namespace

Tensor read_idx(const std::string& path) {
  std::string bytes = read_gz_or_plain(path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  SAVE_CHECK(bytes.size() >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0x08 && p[3] >= 1 && p[3] <= 4,
             "'{}' is not an IDX file of unsigned bytes (bad magic)", path);
  size_t rank = p[3];
  SAVE_CHECK(bytes.size() >= 4 + 4 * rank, "'{}': truncated IDX header", path);
  Shape shape;
  for (size_t i = 0; i < rank; ++i) shape.push_back(be32(p + 4 + 4 * i));
  Tensor t(DType::kU8, shape);
  size_t off = 4 + 4 * rank;
  SAVE_CHECK(bytes.size() - off == t.nbytes(), "'{}': IDX data has {} bytes, header says {}", path,
             bytes.size() - off, t.nbytes());
  std::memcpy(t.data(), p + off, t.nbytes());
  return t;
}

Dataset load_dataset(const std::string& spec, const std::string& labels_npy) {
  Dataset ds;
  ds.source = spec;
  if (spec == "fashion-mnist" || spec == "fashion-mnist-train") {
    std::string prefix =
        std::string(kFashionMnistDir) + (spec == "fashion-mnist" ? "/t10k" : "/train");
    Tensor img = read_idx(prefix + "-images-idx3-ubyte.gz");
    Tensor lab = read_idx(prefix + "-labels-idx1-ubyte.gz");
    SAVE_CHECK(img.rank() == 3 && lab.rank() == 1 && img.shape()[0] == lab.shape()[0],
               "{}: unexpected IDX shapes", spec);
    int64_t n = img.shape()[0], h = img.shape()[1], w = img.shape()[2];
    ds.images = Tensor(DType::kF32, {n, 1, h, w});
    const uint8_t* src = img.ptr<uint8_t>();
    float* dst = ds.images.ptr<float>();
    for (int64_t i = 0; i < n * h * w; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
    for (int64_t i = 0; i < n; ++i) ds.labels.push_back(lab.ptr<uint8_t>()[i]);
    return ds;
  }
  SAVE_CHECK(spec.size() > 4 && spec.substr(spec.size() - 4) == ".npy",
             "dataset '{}' is neither 'fashion-mnist' nor a .npy file", spec);
  ds.images = read_npy(spec);
  SAVE_CHECK(ds.images.rank() >= 1, "'{}': a dataset needs a leading sample axis", spec);
  if (!labels_npy.empty()) ds.labels = read_labels(labels_npy, ds.size());
  return ds;
}

std::vector<int64_t> read_labels(const std::string& path, int64_t samples) {
  Tensor l = read_npy(path);
  SAVE_CHECK(l.rank() == 1 && l.shape()[0] == samples,
             "'{}': labels must be a vector of {} entries (one per sample), got shape {}", path,
             samples, shape_str(l.shape()));
  SAVE_CHECK(l.dtype() != DType::kF32 && l.dtype() != DType::kF64 && l.dtype() != DType::kBool,
             "'{}': labels must be integers (class indices), not {}", path, dtype_name(l.dtype()));
  std::vector<int64_t> labels = l.to_int64();
  for (size_t i = 0; i < labels.size(); ++i)
    SAVE_CHECK(labels[i] >= 0, "'{}': label {} of sample {} is negative (labels are class indices)",
               path, labels[i], i);
  return labels;
}

std::vector<Tensor> batch_of(const Dataset& data, int64_t begin, int64_t end) {
  if (data.inputs.empty()) return {slice_rows(data.images, begin, end)};
  std::vector<Tensor> out;
  for (size_t i = 0; i < data.inputs.size(); ++i)
    out.push_back(data.shared[i] ? data.inputs[i] : slice_rows(data.inputs[i], begin, end));
  return out;
}

void check_labels(const std::vector<int64_t>& labels, int64_t begin, int64_t end, int64_t classes,
                  const std::string& source) {
  for (int64_t i = begin; i < end && i < static_cast<int64_t>(labels.size()); ++i)
    SAVE_CHECK(labels[i] >= 0 && labels[i] < classes,
               "label {} of sample {} in '{}' is outside the model's {} classes [0, {})", labels[i],
               i, source, classes, classes);
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t end) {
  Shape s = t.shape();
  int64_t row = t.numel() / std::max<int64_t>(s[0], 1);
  s[0] = end - begin;
  Tensor out(t.dtype(), s);
  size_t esz = dtype_size(t.dtype());
  std::memcpy(out.data(), static_cast<const std::byte*>(t.data()) + begin * row * esz,
              static_cast<size_t>((end - begin) * row) * esz);
  return out;
}

}  // namespace save
