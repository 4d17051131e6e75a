// Bad input through the real command line: each gives one clear error line,
// a non-zero exit code, and no partial output file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "data/npy.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kCli = SAVE_CLI;
const std::string kData = std::string(SAVE_SOURCE_DIR) + "/tests/data";

struct Result {
  int code;
  std::string err;
};

Result run(const std::string& args) {
  // Unique per process: ctest runs the tests of this file in parallel.
  fs::path err = fs::temp_directory_path() / ("save_cli_err_" + std::to_string(getpid()) + ".txt");
  std::string cmd = kCli + " " + args + " > /dev/null 2> " + err.string();
  int status = std::system(cmd.c_str());
  std::ifstream f(err);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return {WEXITSTATUS(status), text};
}

fs::path unique(const std::string& name) {
  return fs::temp_directory_path() / (std::to_string(getpid()) + "_" + name);
}

fs::path temp_file(const std::string& name, const std::string& bytes) {
  fs::path p = unique(name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// One line starting "error:" that mentions `needle`.
void expect_clear_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "missing '" << needle << "' in: " << r.err;
}

TEST(CliErrors, MissingModelFile) {
  expect_clear_error(run("run /nonexistent/m.onnx --data fashion-mnist --limit 1"), "No such file");
}

TEST(CliErrors, NotAProtobuf) {
  fs::path p = temp_file("save_garbage.onnx", std::string("\xff\xfe not a model", 15));
  expect_clear_error(run("run " + p.string() + " --data fashion-mnist --limit 1"),
                     "not a valid ONNX model");
}

TEST(CliErrors, TruncatedModel) {
  std::ifstream f(kData + "/two_inputs.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  fs::path p = temp_file("save_truncated.onnx", bytes.substr(0, bytes.size() / 2));
  expect_clear_error(run("run " + p.string() + " --data fashion-mnist --limit 1"),
                     "not a valid ONNX model");
}

fs::path npy_file(const std::string& name, save::Tensor t) {
  fs::path p = unique(name);
  save::write_npy(p.string(), t);
  return p;
}

save::Tensor ones(save::DType dt, save::Shape s) {
  save::Tensor t(dt, s);
  if (dt == save::DType::kF32)
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = 1.0f;
  return t;
}

TEST(CliErrors, UnsupportedOperatorNamesOpAndNode) {
  fs::path x = npy_file("save_x14.npy", ones(save::DType::kF32, {1, 4}));
  Result r = run("run " + kData + "/unsupported_op.onnx --input x=" + x.string());
  expect_clear_error(r, "Hardmax");
  EXPECT_NE(r.err.find("mystery_node"), std::string::npos) << r.err;
}

TEST(CliErrors, WrongInputShapeOrType) {
  fs::path good = npy_file("save_good.npy", ones(save::DType::kF32, {2, 2, 3}));
  fs::path bad = npy_file("save_badshape.npy", ones(save::DType::kF32, {2, 3, 3}));
  fs::path ints = npy_file("save_ints.npy", ones(save::DType::kI64, {2, 2, 3}));
  std::string model = "run " + kData + "/two_inputs.onnx --input a=" + good.string();
  expect_clear_error(run(model + " --input b=" + bad.string()),
                     "input 'b' is [batch, 2, 3], dim 1 of the data is 3");
  expect_clear_error(run(model + " --input b=" + ints.string()),
                     "input 'b' is float32, the data is int64");
  expect_clear_error(run(model), "input 'b' of the model ([batch, 2, 3]) is not given");
}

TEST(CliErrors, NaNInput) {
  save::Tensor t = ones(save::DType::kF32, {2, 2, 3});
  t.ptr<float>()[3] = std::numeric_limits<float>::quiet_NaN();
  fs::path nan = npy_file("save_nan.npy", t);
  fs::path good = npy_file("save_good.npy", ones(save::DType::kF32, {2, 2, 3}));
  expect_clear_error(run("run " + kData + "/two_inputs.onnx --input a=" + good.string() +
                         " --input b=" + nan.string()),
                     "NaN");
}

TEST(CliErrors, DatasetNotIdxOrNpy) {
  fs::path p = temp_file("save_data.txt", "hello");
  expect_clear_error(run("run " + kData + "/unsupported_op.onnx --data " + p.string()),
                     "neither 'fashion-mnist' nor a .npy");
  fs::path q = temp_file("save_fake.npy", "definitely not numpy");
  expect_clear_error(
      run("run " + kData + "/two_inputs.onnx --input a=" + q.string() + " --input b=" + q.string()),
      "not a .npy file");
}

TEST(CliErrors, NoPartialOutputOnFailure) {
  fs::path out = unique("save_no_partial_out");
  fs::remove_all(out);
  Result r = run("run " + kData + "/unsupported_op.onnx --input x=/nonexistent.npy --output " +
                 out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
