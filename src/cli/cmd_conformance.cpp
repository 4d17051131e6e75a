// `save conformance DIR`: the ONNX backend-suite runner.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "conformance/runner.hpp"
#include "core/error.hpp"

namespace save::cli {

namespace {
std::vector<std::string> read_list(const std::string& path) {
  std::error_code ec;
  SAVE_CHECK(!std::filesystem::is_directory(path, ec), "case list '{}' is a folder, not a file",
             path);
  std::ifstream f(path, std::ios::binary);
  SAVE_CHECK(f.good(), "cannot open case list '{}'", path);
  std::vector<std::string> out;
  std::string line;
  size_t line_no = 0;
  while (std::getline(f, line)) {
    ++line_no;
    // A binary file given by mistake: say so instead of printing its bytes
    // back as case names.
    for (char ch : line) {
      auto u = static_cast<unsigned char>(ch);
      SAVE_CHECK(u >= 0x20 || u == '\t' || u == '\r',
                 "case list '{}' line {} holds a control byte 0x{:02x}: not a text file of case "
                 "names",
                 path, line_no, static_cast<unsigned>(u));
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}
}  // namespace

void add_conformance_command(CLI::App& app, int& exit_code) {
  struct Args {
    std::string dir, list, expect_pass, filter;
    bool json = false, quiet = false, reference = false;
    double rtol = 1e-3, atol = 1e-5;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "conformance", "Run ONNX backend test cases (model.onnx + test_data_set_N/*.pb)");
  c->add_option("dir", args->dir, "A case folder, or a folder of case folders (two levels)")
      ->required();
  c->add_option("--list", args->list,
                "Run only the cases named in this file (one per line, "
                "relative to DIR)");
  c->add_option("--expect-pass", args->expect_pass,
                "Exit non-zero if any case named in this file does not pass");
  c->add_option("--filter", args->filter, "Run only cases whose name contains this text");
  c->add_option("--rtol", args->rtol, "Relative tolerance")->capture_default_str();
  c->add_option("--atol", args->atol, "Absolute tolerance")->capture_default_str();
  c->add_flag("--reference", args->reference, "Use the reference kernels only");
  c->add_flag("--json", args->json, "Print a JSON summary instead of text");
  c->add_flag("-q,--quiet", args->quiet, "Print only failures and the summary");
  c->callback([args, &exit_code] {
    ConformanceOptions opts;
    opts.rtol = args->rtol;
    opts.atol = args->atol;
    opts.filter = args->filter;
    opts.use_fast_kernels = !args->reference;
    if (!args->list.empty()) opts.only = read_list(args->list);
    auto results = run_conformance(args->dir, opts, [&](const CaseResult& r) {
      if (args->json) return;
      if (args->quiet && r.status == "passed") return;
      fmt::print("{:7} {}{}\n",
                 r.status == "passed"   ? "PASS"
                 : r.status == "failed" ? "FAIL"
                                        : "SKIP",
                 r.name, r.message.empty() ? "" : "  -- " + r.message);
      std::fflush(stdout);
    });
    int passed = 0, failed = 0, skipped = 0;
    for (const auto& r : results)
      (r.status == "passed" ? passed : r.status == "failed" ? failed : skipped)++;
    if (args->json) {
      nlohmann::json j;
      j["passed"] = passed;
      j["failed"] = failed;
      j["skipped"] = skipped;
      j["cases"] = nlohmann::json::array();
      for (const auto& r : results)
        j["cases"].push_back({{"name", r.name},
                              {"status", r.status},
                              {"message", r.message},
                              {"seconds", r.seconds}});
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("conformance: {} passed, {} failed, {} skipped\n", passed, failed, skipped);
    }
    exit_code = 0;
    if (!args->expect_pass.empty()) {
      std::vector<std::string> expected = read_list(args->expect_pass);
      int regressions = 0;
      for (const auto& name : expected) {
        auto it = std::find_if(results.begin(), results.end(),
                               [&](const CaseResult& r) { return r.name == name; });
        if (it == results.end() || it->status != "passed") {
          ++regressions;
          if (!args->json)
            fmt::print(stderr, "regression: {} {}\n", name,
                       it == results.end() ? "was not run" : it->message);
        }
      }
      if (regressions > 0) {
        fmt::print(stderr, "{} expected case(s) did not pass\n", regressions);
        exit_code = 1;
      }
    }
  });
}

}  // namespace save::cli
