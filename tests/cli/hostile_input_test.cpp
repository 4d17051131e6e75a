// Hostile and broken input through the real `save` binary (issue 13): each
// bad file of tests/data/bad (made by tools/make_bad_inputs.py) or bad flag
// gives one clear error line naming the problem, a non-zero exit code (not a
// signal), and leaves every file it could have touched as it was.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "data/npy.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kCli = SAVE_CLI;
const std::string kBad = std::string(SAVE_SOURCE_DIR) + "/tests/data/bad/";
const std::string kCnn = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

struct Result {
  int code = -1;   // exit code; -1 when killed by a signal
  int signal = 0;  // the signal that ended it, 0 if none
  std::string out, err;
  double seconds = 0;
};

fs::path scratch() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("save_hostile_" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Result run(const std::string& args) {
  static int n = 0;
  fs::path out = scratch() / ("stdout_" + std::to_string(n));
  fs::path err = scratch() / ("stderr_" + std::to_string(n++));
  std::string cmd =
      "OMP_NUM_THREADS=1 " + kCli + " " + args + " > " + out.string() + " 2> " + err.string();
  auto t0 = std::chrono::steady_clock::now();
  int status = std::system(cmd.c_str());
  Result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The shell reports a signal as 128 + N.
  int code = WEXITSTATUS(status);
  if (WIFSIGNALED(status) || code > 128) {
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : code - 128;
  } else {
    r.code = code;
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// One line "error: ..." mentioning every needle, exit code 1, no signal.
void expect_error(const Result& r, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << ": " << r.err;
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.code, -1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const std::string& n : needles)
    EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
}

// Every file below `dir` with its bytes: "no file changed" compares two.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return files;
}

fs::path fresh(const std::string& name) {
  fs::path p = scratch() / name;
  fs::remove_all(p);
  return p;
}

// ---- crashes ------------------------------------------------------------

TEST(Hostile, SoftmaxWithoutInputsIsRefusedBeforeTheConverter) {
  for (const char* cmd : {"run", "analyze"}) {
    std::string extra = std::string(cmd) == "run" ? " --input x=" + kBad + "x14.npy" : "";
    Result r = run(std::string(cmd) + " " + kBad + "softmax_no_inputs.onnx" + extra);
    expect_error(r, {"node 'sm' (Softmax)", "has 0 inputs", "takes 1"});
  }
}

TEST(Hostile, AttributeOfTheWrongKindIsRefused) {
  expect_error(run("analyze " + kBad + "softmax_float_axis.onnx"),
               {"attribute 'axis' is a float", "needs an int"});
}

TEST(Hostile, WrappingDimsAreRefusedNamingTheInitializer) {
  for (const char* cmd : {"analyze ", "run --input x="})
    expect_error(run(std::string(cmd) + (cmd[0] == 'r' ? kBad + "x14.npy " : "") + kBad +
                     "wrapping_dims.onnx"),
                 {"initializer 'w'", "overflows"});
}

// ---- memory -------------------------------------------------------------

TEST(Hostile, DataSizeIsCheckedBeforeAllocating) {
  Result r = run("analyze " + kBad + "claims_8gb.onnx");
  expect_error(r, {"initializer 'w'", "holds 40 bytes", "needs 8589934592"});
  EXPECT_LT(r.seconds, 5.0) << "took long enough to have allocated the claimed size";
}

TEST(Hostile, MaxMemoryNamesTheTensorAndTheFlag) {
  Result r = run("analyze " + kCnn + " --max-memory 4KiB");
  expect_error(r, {"initializer '", "--max-memory", "limit of 4096 B"});
  expect_error(run("analyze " + kCnn + " --max-memory lots"), {"--max-memory", "'lots'"});
  expect_error(run("analyze " + kCnn + " --max-memory 0"), {"--max-memory"});
}

// ---- model structure ------------------------------------------------------

TEST(Hostile, NodesOutOfOrderAreSorted) {
  fs::path out = fresh("unsorted_out");
  Result r =
      run("run " + kBad + "unsorted.onnx --input x=" + kBad + "x14.npy --output " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  save::Tensor y = save::read_npy((out / "y.npy").string());
  ASSERT_EQ(y.numel(), 4);
  const float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.ptr<float>()[i], -x[i]);
}

TEST(Hostile, CyclesAndDanglingReferencesAreNamed) {
  expect_error(run("analyze " + kBad + "cycle.onnx"), {"cycle"});
  expect_error(run("analyze " + kBad + "dangling_input.onnx"),
               {"node 'relu' (Relu)", "'nowhere' is not produced"});
}

// Findings of tools/mutate_models.py, made small by tools/make_bad_inputs.py.
TEST(Hostile, MutantFindings) {
  expect_error(run("analyze " + kBad + "concat_scalar.onnx"),
               {"node 'concat' (Concat)", "rank 1 or more"});
  expect_error(run("analyze " + kBad + "newline_output.onnx"),
               {"graph output '\\x0a\\x0a\\x08' is never produced"});
}

TEST(Hostile, DirectoryAsModel) {
  expect_error(run("analyze " + kBad), {"is a directory"});
  expect_error(run("run " + kBad + " --data fashion-mnist --limit 1"), {"is a directory"});
}

// ---- .npy -----------------------------------------------------------------

TEST(Hostile, NpyShapesAndSizesAreChecked) {
  const std::string model = "run " + kBad + "unsorted.onnx --input x=" + kBad;
  expect_error(run(model + "negative_shape.npy"), {"negative_shape.npy", "'-4'"});
  expect_error(run(model + "wrapping_shape.npy"), {"wrapping_shape.npy", "overflows"});
  expect_error(run(model + "extra_data.npy"), {"extra_data.npy", "16 bytes after"});
  expect_error(run(model + "truncated.npy"), {"truncated.npy", "truncated .npy data"});
}

TEST(Hostile, DuplicateInputIsRefused) {
  expect_error(run("run " + kBad + "unsorted.onnx --input x=" + kBad + "x14.npy --input x=" + kBad +
                   "x14.npy"),
               {"--input 'x' is given twice"});
}

TEST(Hostile, LabelsOutsideTheClassesAreRefused) {
  const std::string data = " --data " + kBad + "images2.npy --labels " + kBad;
  expect_error(run("run " + kCnn + data + "labels_out_of_range.npy"),
               {"label 10 of sample 1", "10 classes"});
  expect_error(run("run " + kCnn + data + "labels_negative.npy"), {"label -1", "negative"});
}

// ---- flags ----------------------------------------------------------------

TEST(Hostile, FlagValuesAreCheckedNamingTheFlag) {
  const std::string m = kCnn + " --data fashion-mnist --limit 1";
  expect_error(run("run " + m + " --threads -3"), {"--threads", "'-3'"});
  expect_error(run("inject " + m + " --out /nonexistent/x --seed -1"), {"--seed", "'-1'"});
  expect_error(run("analyze " + kCnn + " --tolerance inf"), {"--tolerance", "'inf'"});
  expect_error(run("analyze " + kCnn + " --tolerance -1"), {"--tolerance", "'-1'"});
  expect_error(run("run " + m + " --protect save --reliable-mem 1e99"), {"--reliable-mem"});
  expect_error(run("sweep " + kCnn + " --all-weights --predict -1"), {"--predict", "'-1'"});
  expect_error(run("run " + kCnn + " --data fashion-mnist --limit -1"), {"--limit", "'-1'"});
  Result b = run("run " + m + " --batch 0");
  expect_error(b, {"--batch", "positive batch size", "'0'"});
  EXPECT_LT(b.err.size(), 200u) << b.err;
}

TEST(Hostile, AbsurdTrialCountIsRefusedAtOnce) {
  fs::path out = fresh("absurd_trials");
  Result r =
      run("inject " + kCnn + " --data fashion-mnist --trials 3000000000 --out " + out.string());
  expect_error(r, {"--trials 3000000000", "1000000"});
  EXPECT_LT(r.seconds, 5.0);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Hostile, BinaryListFile) {
  expect_error(
      run("conformance /usr/share/libonnx-testdata/data --list " + kBad + "binary_list.txt"),
      {"binary_list.txt", "line 2", "control byte"});
}

// ---- silent success ---------------------------------------------------------

TEST(Hostile, EvalOnABrokenModelFails) {
  fs::path out = fresh("eval_garbage");
  expect_error(run("eval " + kBad + "garbage.onnx --quick --out " + out.string()),
               {"not a valid ONNX model"});
  EXPECT_FALSE(fs::exists(out));
  std::string bytes = slurp(kCnn);
  fs::path cut = scratch() / "truncated.onnx";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  expect_error(run("eval " + cut.string() + " --quick --out " + out.string()), {"truncated.onnx"});
  EXPECT_FALSE(fs::exists(out));
}

// ---- output folders -------------------------------------------------------

const std::string kInject2 = " --data " + kBad + "images2.npy --flips 0 --trials 1 --threads 1";

TEST(Hostile, FailedInjectLeavesNothingThatRefusesCorrectedData) {
  fs::path out = fresh("inject_labels");
  expect_error(run("inject " + kCnn + kInject2 + " --labels " + kBad +
                   "labels_out_of_range.npy --out " + out.string()),
               {"label 10"});
  EXPECT_FALSE(fs::exists(out));
  Result ok = run("inject " + kCnn + kInject2 + " --labels " + kBad + "labels_ok.npy --out " +
                  out.string());
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::exists(out / "trials.jsonl"));
}

TEST(Hostile, EvalAndInjectRefuseEachOthersFolders) {
  fs::path camp = fresh("inject_folder");
  ASSERT_EQ(run("inject " + kCnn + kInject2 + " --out " + camp.string()).code, 0);
  auto before = snapshot(camp);
  expect_error(run("eval " + kCnn + " --quick --out " + camp.string()),
               {"holds a `save inject` campaign"});
  EXPECT_EQ(snapshot(camp), before);

  fs::path ev = fresh("eval_folder");
  fs::create_directories(ev);
  std::ofstream(ev / "eval.json") << "{\"format\": 1}\n";
  std::ofstream(ev / "report.md") << "# an evaluation\n";
  auto ev_before = snapshot(ev);
  expect_error(run("inject " + kCnn + kInject2 + " --out " + ev.string()),
               {"holds a `save eval` evaluation"});
  EXPECT_EQ(snapshot(ev), ev_before);
}

TEST(Hostile, SecondWriterIsRefusedNamingTheHolder) {
  fs::path out = fresh("locked");
  fs::create_directories(out);
  // This process holds the lock, as a running `save inject` would.
  int fd = ::open((out / ".save.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::string pid = std::to_string(getpid()) + "\n";
  ASSERT_EQ(::write(fd, pid.data(), pid.size()), static_cast<ssize_t>(pid.size()));
  auto before = snapshot(out);
  expect_error(run("inject " + kCnn + kInject2 + " --out " + out.string()),
               {"in use by another save process", "pid " + std::to_string(getpid())});
  EXPECT_EQ(snapshot(out), before);
  ::close(fd);
  EXPECT_EQ(run("inject " + kCnn + kInject2 + " --out " + out.string()).code, 0);
}

TEST(Hostile, CorruptGoldenCacheIsDetected) {
  fs::path out = fresh("golden");
  ASSERT_EQ(run("inject " + kCnn + kInject2 + " --out " + out.string()).code, 0);
  fs::path golden;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".npy") golden = e.path();
  ASSERT_FALSE(golden.empty());
  save::Tensor t = save::read_npy(golden.string());
  std::memset(t.data(), 0, t.nbytes());
  save::write_npy(golden.string(), t);
  auto before = snapshot(out);
  expect_error(run("inject " + kCnn + " --data " + kBad +
                   "images2.npy --flips 1 --trials 1 --threads 1 --out " + out.string()),
               {"golden-output cache", "does not match its checksum"});
  EXPECT_EQ(snapshot(out), before);
}

TEST(Hostile, EditedPlanIsRefused) {
  fs::path plan = scratch() / "cnn.plan.json";
  ASSERT_EQ(run("analyze " + kCnn + " -o " + plan.string()).code, 0);
  nlohmann::json j = nlohmann::json::parse(slurp(plan));
  ASSERT_FALSE(j["activations"].empty());
  j["activations"] = nlohmann::json::array();  // sha256 of the model still matches
  std::ofstream(plan) << j.dump();
  expect_error(
      run("run " + kCnn + " --data fashion-mnist --limit 2 --protect save --plan " + plan.string()),
      {"cnn.plan.json", "checksum"});
}

TEST(Hostile, FailedSweepKeepsTheExistingCsv) {
  fs::path csv = scratch() / "existing.csv";
  std::ofstream(csv) << "earlier,results\n";
  expect_error(run("sweep " + kCnn + " --tensor no_such_weight --out " + csv.string()),
               {"no_such_weight"});
  EXPECT_EQ(slurp(csv), "earlier,results\n");
  // Killed (SIGKILL) in the middle of writing records: the file under the
  // --out name is still the earlier one, not a partial CSV.
  int rc = std::system(("OMP_NUM_THREADS=1 timeout -s KILL 3 " + kCli + " sweep " + kCnn +
                        " --all-weights --batch 8 --threads 1 --out " + csv.string() +
                        " > /dev/null 2>&1")
                           .c_str());
  EXPECT_NE(rc, 0) << "the sweep finished before it was killed: make it longer";
  EXPECT_EQ(slurp(csv), "earlier,results\n");
  // Finished: the records replace it whole.
  Result ok = run("sweep " + kCnn + " --tensor " + "conv1.weight --element 0 --bits 30 --batch 2 " +
                  "--out " + csv.string());
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(slurp(csv).rfind("tensor,element,bit", 0), 0u);
}

}  // namespace

namespace {

// Resume after SIGKILL at random points (seeded, so a failure replays):
// the finished campaign has every trial exactly once and the same summary
// as one that was never killed.
TEST(Hostile, KilledInjectResumesWithNoTrialLostOrDuplicated) {
  // Long enough that a kill at 0.15-1.15 s lands mid-campaign on a fast
  // machine too (the fused engine runs a 2-image trial in well under 1 ms).
  constexpr int kTrials = 250;
  const std::string args = " --data " + kBad + "images2.npy --labels " + kBad +
                           "labels_ok.npy --flips 0,1,4,16 --trials " + std::to_string(kTrials) +
                           " --threads 1 --out ";
  fs::path ref = fresh("resume_ref"), out = fresh("resume_killed");
  ASSERT_EQ(run("inject " + kCnn + args + ref.string()).code, 0);
  uint64_t x = 0x5eed;
  int killed = 0;
  for (int round = 0; round < 6; ++round) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const double at = 0.15 + static_cast<double>((x >> 33) % 1000) / 1000.0;  // 0.15-1.15 s
    int rc = std::system(("OMP_NUM_THREADS=1 timeout -s KILL " + std::to_string(at) + " " + kCli +
                          " inject " + kCnn + args + out.string() + " > /dev/null 2>&1")
                             .c_str());
    killed += WEXITSTATUS(rc) == 128 + 9 || WEXITSTATUS(rc) == 124 || WIFSIGNALED(rc);
  }
  EXPECT_GT(killed, 0) << "no run was killed: the campaign is too short to test resume";
  Result last = run("inject " + kCnn + args + out.string());
  ASSERT_EQ(last.code, 0) << last.err;
  std::set<std::pair<int64_t, int64_t>> seen;
  std::istringstream lines(slurp(out / "trials.jsonl"));
  std::string line;
  int records = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    ++records;
    EXPECT_TRUE(seen.insert({j["flips"].get<int64_t>(), j["trial"].get<int64_t>()}).second)
        << "duplicate: " << line;
  }
  EXPECT_EQ(records, 4 * kTrials);
  EXPECT_EQ(seen.size(), 4u * kTrials);
  EXPECT_EQ(slurp(out / "summary.json"), slurp(ref / "summary.json"));
}

}  // namespace
