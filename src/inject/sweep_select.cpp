// Which bits a sweep flips (inject/sweep.hpp): the tensors named or every
// weight a step reads (weights only folded nodes read are reported, not
// swept), the bits the prediction puts on the side `only` picks, and a
// uniform sample without repeats over them.
#include <algorithm>
#include <unordered_set>

#include "core/error.hpp"
#include "inject/rng.hpp"
#include "inject/sweep.hpp"

namespace save {

namespace {

// Floyd's algorithm: `n` distinct indices of [0, total), sorted.
std::vector<uint64_t> sample_indices(uint64_t total, uint64_t n, uint64_t seed) {
  Rng rng(seed);
  std::unordered_set<uint64_t> chosen;
  chosen.reserve(n * 2);
  for (uint64_t j = total - n; j < total; ++j) {
    uint64_t t = rng.below(j + 1);
    chosen.insert(chosen.count(t) ? j : t);
  }
  std::vector<uint64_t> out(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<int> parse_bit_positions(const std::string& spec) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string part = spec.substr(pos, comma == std::string::npos ? comma : comma - pos);
    int lo = 0, hi = 0;
    char extra = 0;
    int n = std::sscanf(part.c_str(), "%d-%d%c", &lo, &hi, &extra);
    if (n == 1) hi = lo;
    SAVE_CHECK((n == 1 || n == 2) && 0 <= lo && lo <= hi && hi <= 31,
               "bad bit list '{}': use positions 0-31, e.g. '0-31' or '23-30,31'", spec);
    for (int b = lo; b <= hi; ++b) out.push_back(b);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Sweep::draw_sample() {
  // The bits eligible: all, or those the prediction puts on the chosen side.
  selected_ = population_;
  if (opts_.only != SweepOptions::Only::kAll) {
    selected_ = 0;
    for (size_t ti = 0; ti < tensors_.size(); ++ti)
      for (int64_t e = 0; e < tensors_[ti].elements; ++e)
        selected_ += static_cast<uint64_t>(eligible_bits(ti, e).size());
  }
  if (opts_.sample > 0 && static_cast<uint64_t>(opts_.sample) < selected_) {
    // Uniform over the eligible bits: draw ranks, then map each rank to
    // its (tensor, element, bit) index in one walk.
    const std::vector<uint64_t> ranks =
        sample_indices(selected_, static_cast<uint64_t>(opts_.sample), opts_.seed);
    if (opts_.only == SweepOptions::Only::kAll) {
      sample_ = ranks;
    } else {
      uint64_t rank = 0, base = 0;
      size_t next = 0;
      for (size_t ti = 0; ti < tensors_.size() && next < ranks.size(); ++ti) {
        for (int64_t e = 0; e < tensors_[ti].elements && next < ranks.size(); ++e) {
          const std::vector<size_t> bits = eligible_bits(ti, e);
          while (next < ranks.size() && ranks[next] < rank + bits.size())
            sample_.push_back(base + static_cast<uint64_t>(e) * bits_.size() +
                              bits[ranks[next++] - rank]);
          rank += bits.size();
        }
        base += static_cast<uint64_t>(tensors_[ti].elements) * bits_.size();
      }
    }
  }
  planned_ = sampled() ? sample_.size() : selected_;
  if (!opts_.elements.empty()) {
    planned_ = 0;  // an element outside a tensor is refused by run()
    for (size_t ti = 0; ti < tensors_.size(); ++ti)
      for (int64_t e : opts_.elements)
        if (e >= 0 && e < tensors_[ti].elements) planned_ += eligible_bits(ti, e).size();
  }
}

std::vector<size_t> Sweep::eligible_bits(size_t tensor, int64_t element) const {
  std::vector<size_t> out;
  for (size_t b = 0; b < bits_.size(); ++b)
    if (wanted(tensor, static_cast<uint64_t>(element) * bits_.size() + b)) out.push_back(b);
  return out;
}

bool Sweep::wanted(size_t tensor, uint64_t index) const {
  if (opts_.only == SweepOptions::Only::kAll) return true;
  const uint64_t nbits = bits_.size();
  const bool robust = masks_[tensor][index / nbits] >> bits_[index % nbits] & 1u;
  return robust == (opts_.only == SweepOptions::Only::kPredictedRobust);
}

std::vector<std::string> Sweep::folded_consumers(ValueId v,
                                                 const std::vector<int64_t>& first_reader) const {
  // Follow the value through nodes folded at plan time to the folded
  // constants that a step does read.
  const Graph& g = session_.graph();
  std::vector<std::string> out;
  std::vector<ValueId> todo{v};
  std::vector<bool> seen(g.values.size(), false);
  while (!todo.empty()) {
    ValueId cur = todo.back();
    todo.pop_back();
    for (NodeId n : g.values[cur].consumers)
      for (ValueId o : g.nodes[n].outputs) {
        if (o == kNoId || seen[o] || !plan_->values()[o].folded) continue;
        seen[o] = true;
        if (first_reader[o] >= 0)
          out.push_back(g.values[o].name);
        else
          todo.push_back(o);
      }
  }
  return out;
}

void Sweep::add_tensor(ValueId v, const std::vector<int64_t>& first_reader, bool explicit_name) {
  const Graph& g = session_.graph();
  const PlannedValue& pv = plan_->values()[v];
  const std::string& name = g.values[v].name;
  std::string why;
  if (pv.storage != Storage::kConstant) {
    why = "not a weight (an activation or a model input)";
  } else if (pv.region != Region::kDevice) {
    why = "not in device memory (a model input fixed at plan time)";
  } else if (pv.info.dtype != DType::kF32) {
    why = fmt::format("{}, not float32", dtype_name(pv.info.dtype));
  } else if (pv.constant.numel() == 0) {
    why = "empty";
  } else if (first_reader[v] < 0) {
    std::vector<std::string> via = folded_consumers(v, first_reader);
    if (via.empty()) {
      why = "not read by any step";
    } else {
      std::string list;
      for (const auto& s : via) list += (list.empty() ? "'" : ", '") + s + "'";
      why =
          "folded: not swept (only nodes folded at plan time read it; its effect flows "
          "through folded constant " +
          list + (opts_.all_weights ? ", swept instead)" : ": sweep that instead)");
    }
  }
  if (!why.empty()) {
    SAVE_CHECK(!explicit_name, "cannot sweep '{}': {}", name, why);
    skipped_.push_back({name, why});
    return;
  }
  tensors_.push_back(
      {v, name, pv.folded, pv.constant.numel(), static_cast<size_t>(first_reader[v])});
}

void Sweep::select() {
  const Graph& g = session_.graph();
  const auto& values = plan_->values();
  std::vector<int64_t> first_reader(values.size(), -1);
  const auto& steps = plan_->steps();
  for (size_t s = steps.size(); s-- > 0;)
    for (ValueId v : steps[s].inputs)
      if (v != kNoId) first_reader[v] = static_cast<int64_t>(s);
  for (const std::string& name : opts_.tensors) {
    ValueId v = g.find_value(name);
    SAVE_CHECK(v != kNoId, "the model has no tensor named '{}'", name);
    add_tensor(v, first_reader, true);
  }
  if (!opts_.all_weights) return;
  std::vector<ValueId> all;
  for (ValueId v = 0; v < values.size(); ++v) {
    bool named = std::find(opts_.tensors.begin(), opts_.tensors.end(), g.values[v].name) !=
                 opts_.tensors.end();
    bool weight = values[v].storage == Storage::kConstant && values[v].region == Region::kDevice;
    // Folded constants nobody reads are plan-time intermediates, not memory
    // a run touches: leave them out silently.
    if (weight && !named && !(values[v].folded && first_reader[v] < 0)) all.push_back(v);
  }
  for (ValueId v : all) add_tensor(v, first_reader, false);
  // Sweep in step order: the report reads front to back through the model.
  std::stable_sort(
      tensors_.begin(), tensors_.end(),
      [](const SweepTensor& a, const SweepTensor& b) { return a.first_step < b.first_step; });
}

}  // namespace save
