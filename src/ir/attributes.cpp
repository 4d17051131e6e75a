#include "ir/attributes.hpp"

#include "core/error.hpp"

namespace save {

namespace {
template <typename T>
const T* get_as(const std::map<std::string, AttrValue>& m, const std::string& name,
                const char* kind) {
  auto it = m.find(name);
  if (it == m.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  SAVE_CHECK(v != nullptr, "attribute '{}' is not of kind {}", name, kind);
  return v;
}
}  // namespace

int64_t Attributes::get_int(const std::string& name, int64_t def) const {
  const auto* v = get_as<int64_t>(map_, name, "int");
  return v ? *v : def;
}
float Attributes::get_float(const std::string& name, float def) const {
  auto it = map_.find(name);
  if (it == map_.end()) return def;
  // Some exporters write integral floats as ints; accept both.
  if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  const auto* v = get_as<float>(map_, name, "float");
  return *v;
}
std::string Attributes::get_string(const std::string& name, const std::string& def) const {
  const auto* v = get_as<std::string>(map_, name, "string");
  return v ? *v : def;
}
std::vector<int64_t> Attributes::get_ints(const std::string& name, std::vector<int64_t> def) const {
  const auto* v = get_as<std::vector<int64_t>>(map_, name, "ints");
  return v ? *v : def;
}
std::vector<float> Attributes::get_floats(const std::string& name, std::vector<float> def) const {
  const auto* v = get_as<std::vector<float>>(map_, name, "floats");
  return v ? *v : def;
}
const Tensor* Attributes::get_tensor(const std::string& name) const {
  return get_as<Tensor>(map_, name, "tensor");
}
const Subgraph* Attributes::get_graph(const std::string& name) const {
  const auto* v = get_as<std::shared_ptr<const Subgraph>>(map_, name, "graph");
  return v ? v->get() : nullptr;
}
int64_t Attributes::int_(const std::string& name) const {
  const auto* v = get_as<int64_t>(map_, name, "int");
  SAVE_CHECK(v != nullptr, "required attribute '{}' is missing", name);
  return *v;
}
std::vector<int64_t> Attributes::ints(const std::string& name) const {
  const auto* v = get_as<std::vector<int64_t>>(map_, name, "ints");
  SAVE_CHECK(v != nullptr, "required attribute '{}' is missing", name);
  return *v;
}

}  // namespace save
