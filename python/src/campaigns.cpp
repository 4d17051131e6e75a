// save.inject / save.eval: the campaigns of `save inject` and `save eval`
// (src/eval/campaign.hpp, eval_suite.hpp) with the same defaults, writing
// the same files to `out` and returning what they summarise as plain dicts.
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "bindings.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "data/dataset.hpp"
#include "eval/campaign.hpp"
#include "eval/eval_suite.hpp"
#include "exec/session.hpp"
#include "import/onnx_import.hpp"
#include "inject/memory_map.hpp"

namespace save::py {

pyb::object to_python(const nlohmann::json& j) {
  return pyb::module_::import("json").attr("loads")(j.dump());
}

namespace {

struct ProtectArgs {
  pyb::object plan, reliable_mem, input_range;
  double tolerance;
  std::string weight_check, activation_check;
  bool async_checks;
};

protect::ProtectionOptions protection_options(const ProtectArgs& a, int64_t batch, bool progress) {
  protect::ProtectionOptions o;
  if (!a.plan.is_none()) o.plan_path = pyb::str(a.plan);
  if (!a.reliable_mem.is_none()) o.reliable_mem = pyb::str(a.reliable_mem);
  o.input_ranges = input_ranges(a.input_range);
  o.tolerance = a.tolerance;
  o.weight_check = a.weight_check;
  o.activation_check = a.activation_check;
  o.async_checks = a.async_checks;
  o.batch = batch;
  o.log = progress ? stderr : nullptr;
  return o;
}

pyb::dict inject(const std::string& model, const std::string& data, const std::string& out,
                 const std::vector<int64_t>& flips, int64_t trials, const std::string& pattern,
                 const std::string& scenario, const std::string& target, int bits_per_word,
                 int burst_length, uint64_t seed, int64_t limit, int64_t batch, int threads,
                 const std::string& labels, const std::string& protect, const ProtectArgs& pa,
                 bool progress) {
  SAVE_CHECK(bits_per_word >= 1 && bits_per_word <= 32, "bits_per_word must be 1..32");
  SAVE_CHECK(burst_length >= 1, "burst_length must be >= 1");
  SAVE_CHECK(trials >= 1, "trials must be >= 1");
  SAVE_CHECK(batch >= 1, "batch must be >= 1");
  eval::CampaignSpec spec;
  spec.flips = flips;
  spec.fault.pattern = parse_pattern(pattern);
  spec.fault.scenario = parse_scenario(scenario);
  spec.fault.target = parse_target(target);
  spec.fault.bits_per_word = bits_per_word;
  spec.fault.burst_length = burst_length;
  spec.trials = trials;
  spec.protect = protect;
  spec.model_path = model;
  spec.data = data;
  spec.labels = labels;
  spec.limit = limit;
  spec.batch = batch;
  spec.threads = threads;
  spec.seed = seed;
  spec.out_dir = out;
  spec.progress = progress ? stderr : nullptr;
  spec.protect_opts = protection_options(pa, batch, progress);
  eval::CampaignOutcome r;
  {
    pyb::gil_scoped_release nogil;
    SessionOptions so;
    so.threads = threads;
    Session session(import_onnx_file(model), so);
    spec.model_sha256 = file_sha256(model);
    Dataset d = load_dataset(data, labels);
    r = eval::run_campaign(spec, session, d);
  }
  pyb::dict d;
  d["summary"] = to_python(r.summary);
  d["timings"] = to_python(r.timings);
  d["ran"] = r.ran;
  d["skipped"] = r.skipped;
  d["complete"] = r.complete;
  return d;
}

pyb::dict run_eval(const std::string& model, const std::string& out, bool quick,
                   const std::vector<std::string>& modes, const std::string& data,
                   const std::string& labels, const pyb::object& limit, const pyb::object& trials,
                   const pyb::object& ood_samples, const pyb::object& flips,
                   const std::vector<std::string>& scenarios, uint64_t seed,
                   const pyb::object& threads, int64_t batch, const ProtectArgs& pa,
                   bool progress) {
  eval::EvalSpec s;
  s.model_path = model;
  s.out_dir = out;
  s.data = data;
  s.labels = labels;
  s.seed = seed;
  s.batch = batch;
  s.protect_opts = protection_options(pa, batch, progress);
  s.protect_opts.model_sha256 = "";  // set per mode (rednet runs another file)
  if (quick) s = eval::quick_spec(s);
  // Arguments given explicitly win over the quick subset, as on the CLI.
  if (!limit.is_none()) s.limit = limit.cast<int64_t>();
  if (!trials.is_none()) s.trials = trials.cast<int64_t>();
  if (!ood_samples.is_none()) s.ood_samples = ood_samples.cast<int64_t>();
  if (!threads.is_none()) s.threads = threads.cast<int>();
  if (!flips.is_none()) s.flips = flips.cast<std::vector<int64_t>>();
  s.scenarios.clear();
  for (const std::string& sc : scenarios) s.scenarios.push_back(parse_scenario(sc));
  s.modes = modes;
  s.progress = progress ? stderr : nullptr;
  eval::EvalOutcome r;
  {
    pyb::gil_scoped_release nogil;
    r = eval::run_eval(s);
  }
  pyb::dict d;
  d["results"] = to_python(r.results);
  d["table"] = r.table;
  d["ran"] = r.ran;
  d["skipped"] = r.skipped;
  d["complete"] = r.complete;
  return d;
}

}  // namespace

void add_campaigns(pyb::module_& m) {
  m.def(
      "inject",
      [](const std::string& model, const std::string& data, const std::string& out,
         const std::vector<int64_t>& flips, int64_t trials, const std::string& pattern,
         const std::string& scenario, const std::string& target, int bits_per_word,
         int burst_length, uint64_t seed, int64_t limit, int64_t batch, int threads,
         const std::string& labels, const std::string& protect, const pyb::object& plan,
         const pyb::object& reliable_mem, const pyb::object& input_range, double tolerance,
         const std::string& weight_check, const std::string& activation_check, bool async_checks,
         bool progress) {
        ProtectArgs pa{plan,         reliable_mem,     input_range, tolerance,
                       weight_check, activation_check, async_checks};
        return inject(model, data, out, flips, trials, pattern, scenario, target, bits_per_word,
                      burst_length, seed, limit, batch, threads, labels, protect, pa, progress);
      },
      pyb::arg("model"), pyb::kw_only(), pyb::arg("data"), pyb::arg("out"),
      pyb::arg("flips") = std::vector<int64_t>{0, 1, 16, 256, 4096}, pyb::arg("trials") = 10,
      pyb::arg("pattern") = "random", pyb::arg("scenario") = "accumulated",
      pyb::arg("target") = "weights", pyb::arg("bits_per_word") = 1, pyb::arg("burst_length") = 16,
      pyb::arg("seed") = 1, pyb::arg("limit") = 0, pyb::arg("batch") = 64, pyb::arg("threads") = 0,
      pyb::arg("labels") = "", pyb::arg("protect") = "none", pyb::arg("plan") = pyb::none(),
      pyb::arg("reliable_mem") = pyb::none(), pyb::arg("input_range") = pyb::none(),
      pyb::arg("tolerance") = 1e-5, pyb::arg("weight_check") = "checksum",
      pyb::arg("activation_check") = "full", pyb::arg("async_checks") = false,
      pyb::arg("progress") = false);

  m.def(
      "eval",
      [](const std::string& model, const std::string& out, bool quick,
         const std::vector<std::string>& modes, const std::string& data, const std::string& labels,
         const pyb::object& limit, const pyb::object& trials, const pyb::object& ood_samples,
         const pyb::object& flips, const std::vector<std::string>& scenarios, uint64_t seed,
         const pyb::object& threads, int64_t batch, const pyb::object& plan,
         const pyb::object& reliable_mem, const pyb::object& input_range, double tolerance,
         const std::string& weight_check, const std::string& activation_check, bool async_checks,
         bool progress) {
        ProtectArgs pa{plan,         reliable_mem,     input_range, tolerance,
                       weight_check, activation_check, async_checks};
        return run_eval(model, out, quick, modes, data, labels, limit, trials, ood_samples, flips,
                        scenarios, seed, threads, batch, pa, progress);
      },
      pyb::arg("model"), pyb::kw_only(), pyb::arg("out"), pyb::arg("quick") = false,
      pyb::arg("modes") = std::vector<std::string>{}, pyb::arg("data") = "fashion-mnist",
      pyb::arg("labels") = "", pyb::arg("limit") = pyb::none(), pyb::arg("trials") = pyb::none(),
      pyb::arg("ood_samples") = pyb::none(), pyb::arg("flips") = pyb::none(),
      pyb::arg("scenarios") = std::vector<std::string>{"accumulated", "streaming"},
      pyb::arg("seed") = 1, pyb::arg("threads") = pyb::none(), pyb::arg("batch") = 64,
      pyb::arg("plan") = pyb::none(), pyb::arg("reliable_mem") = pyb::none(),
      pyb::arg("input_range") = pyb::none(), pyb::arg("tolerance") = 1e-5,
      pyb::arg("weight_check") = "checksum", pyb::arg("activation_check") = "full",
      pyb::arg("async_checks") = false, pyb::arg("progress") = false);
}

}  // namespace save::py
