// A protection plan is tied to the graph passes its session ran: a plan
// made on the fused graph is refused, naming the passes, for a session that
// runs the graph as written (`--no-fuse`) and vice versa; the same passes
// load.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/hash.hpp"
#include "exec/hook_chain.hpp"
#include "import/onnx_import.hpp"
#include "modes/registry.hpp"
#include "protect/mode.hpp"
#include "protect/protection_plan.hpp"

namespace save::protect {
namespace {

const std::string kModel = std::string(SAVE_SOURCE_DIR) + "/models/fmnist-cnn.onnx";

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("save-plan-passes-" + std::to_string(getpid()) + "-" + name + ".json"))
      .string();
}

TEST(PlanPasses, PlanRecordsThePassesAndRefusesOtherOnes) {
  const std::string sha = file_sha256(kModel);
  Session fused(import_onnx_file(kModel));
  SessionOptions so;
  so.passes.enabled = false;
  Session plain(import_onnx_file(kModel), so);
  ASSERT_FALSE(fused.graph().passes.empty());
  ASSERT_TRUE(plain.graph().passes.empty());

  const std::string pf = temp_path("fused"), pp = temp_path("plain");
  save_plan(build_plan(fused, {}, 1e-5, sha), pf);
  save_plan(build_plan(plain, {}, 1e-5, sha), pp);
  EXPECT_EQ(load_plan(pf, sha, &fused.graph().passes).passes, fused.graph().passes);
  EXPECT_TRUE(load_plan(pp, sha, &plain.graph().passes).passes.empty());
  for (const auto& [path, session] : {std::pair{pf, &plain}, std::pair{pp, &fused}}) {
    try {
      load_plan(path, sha, &session->graph().passes);
      ADD_FAILURE() << "a plan made with other passes was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("passes"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("--no-fuse"), std::string::npos) << e.what();
    }
    // `--protect save --plan` refuses it the same way.
    protect::ProtectionOptions o;
    o.plan_path = path;
    o.model_sha256 = sha;
    o.log = nullptr;
    EXPECT_THROW(modes::make_protection("save", *session, o), Error);
  }
  protect::ProtectionOptions ok;
  ok.plan_path = pf;
  ok.model_sha256 = sha;
  ok.log = nullptr;
  EXPECT_NO_THROW(modes::make_protection("save", fused, ok));
  std::filesystem::remove(pf);
  std::filesystem::remove(pp);
}

}  // namespace
}  // namespace save::protect
