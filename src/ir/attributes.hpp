// Named node attributes, converted from ONNX by the importer. Typed getters
// throw Error naming the attribute when it has the wrong kind.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.hpp"

namespace save {

struct Subgraph;  // ir/graph.hpp: a graph-valued attribute (If's branches, Loop's body)

// A subgraph is shared, never modified after import: copying a Graph (passes
// work on copies) shares its nodes' subgraphs.
using AttrValue =
    std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                 std::vector<std::string>, Tensor, std::shared_ptr<const Subgraph>>;

class Attributes {
 public:
  void set(std::string name, AttrValue v) { map_[std::move(name)] = std::move(v); }
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  const std::map<std::string, AttrValue>& all() const { return map_; }

  int64_t get_int(const std::string& name, int64_t def) const;
  float get_float(const std::string& name, float def) const;
  std::string get_string(const std::string& name, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> get_floats(const std::string& name, std::vector<float> def = {}) const;
  const Tensor* get_tensor(const std::string& name) const;
  // nullptr when absent.
  const Subgraph* get_graph(const std::string& name) const;
  // Required forms: throw when missing.
  int64_t int_(const std::string& name) const;
  std::vector<int64_t> ints(const std::string& name) const;

 private:
  std::map<std::string, AttrValue> map_;
};

}  // namespace save
