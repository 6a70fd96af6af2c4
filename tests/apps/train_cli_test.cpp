// `remedi train` and `remedi edit` end to end on the default model with a few CounterFact rows: the
// files they write, their JSON, resume, and one-line errors for bad input (`remedi eval fact-gen`:
// eval_fact_gen_cli_test.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::default_model_path().empty()) return;
    results_ = new std::string(test::temp_dir("train_cli"));
    trained_ = new test::CommandResult(
        test::run_remedi({"train", "-n", "tiny", "--results-dir", *results_, "-l", "2", "--train-size", "20",
                          "--batch-size", "8", "--max-epochs", "1", "--seed", "5", "-q"}));
  }
  static void TearDownTestSuite() {
    if (results_ != nullptr) std::filesystem::remove_all(*results_);
    delete results_;
    delete trained_;
    results_ = nullptr;
    trained_ = nullptr;
  }
  void SetUp() override {
    if (results_ == nullptr) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  }
  static std::string editors() { return *results_ + "/tiny"; }
  static nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
  }
  static void expect_one_line_error(const test::CommandResult& r, const std::string& part) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  static std::string* results_;
  static test::CommandResult* trained_;
};

std::string* TrainCli::results_ = nullptr;
test::CommandResult* TrainCli::trained_ = nullptr;

TEST_F(TrainCli, TrainWritesTheEditorItsSidecarAndTheArguments) {
  ASSERT_EQ(trained_->exit_code, 0) << trained_->err;
  const auto out = nlohmann::json::parse(trained_->out);
  ASSERT_EQ(out["editors"].size(), 1U);
  EXPECT_EQ(out["editors"][0]["layer"], 2);
  EXPECT_EQ(out["editors"][0]["epochs"], 2);  // epoch 0 + one training epoch
  const std::string folder = editors() + "/linear/2";
  EXPECT_TRUE(std::filesystem::exists(folder + "/editor.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(folder + "/checkpoint.pt"));  // removed once the editor is saved
  const auto sidecar = read_json(folder + "/editor.json");
  EXPECT_EQ(sidecar["type"], "linear");
  EXPECT_EQ(sidecar["hidden_size"], 576);
  EXPECT_EQ(sidecar["training"]["train_samples"], 18);  // 20 rows, ceil(10%) held out
  EXPECT_EQ(sidecar["training"]["validation_samples"], 2);
  EXPECT_EQ(sidecar["model"]["family"], "llama");
  bool has_args = false;
  for (const auto& entry : std::filesystem::directory_iterator(editors())) {
    has_args = has_args || entry.path().filename().string().rfind("args-", 0) == 0;
  }
  EXPECT_TRUE(has_args);
}

TEST_F(TrainCli, ResumeSkipsSavedEditors) {
  const auto again =
      test::run_remedi({"train", "-n", "tiny", "--results-dir", *results_, "-l", "2", "--train-size", "20",
                        "--batch-size", "8", "--max-epochs", "1", "--seed", "5", "--resume"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("already trained"), std::string::npos) << again.err;
  EXPECT_TRUE(nlohmann::json::parse(again.out)["editors"].empty());
}

TEST_F(TrainCli, EditShowsTopTokensAndContinuationsBeforeAndAfter) {
  const auto r =
      test::run_remedi({"edit", "-e", editors(), "--entity", "Danielle Darrieux", "--context",
                        "The mother tongue of Danielle Darrieux is English", "--prompt",
                        "Danielle Darrieux's mother tongue is", "--max-new-tokens", "4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["layer"], 2);
  EXPECT_EQ(out["attribute"], "is English");  // default: the context after the entity
  for (const char* side : {"before", "after"}) {
    const auto& top = out[side]["top_tokens"];
    ASSERT_EQ(top.size(), 10U);
    double total = 0;
    for (const auto& t : top) total += t["prob"].get<double>();
    EXPECT_LE(total, 1.0 + 1e-6);
    EXPECT_GE(top[0]["prob"].get<double>(), top[9]["prob"].get<double>());
    EXPECT_FALSE(out[side]["continuation"].get<std::string>().empty());
  }
  EXPECT_GT(out["direction_norm"].get<double>(), 0.0);
  EXPECT_NE(out["before"]["top_tokens"][0]["prob"], out["after"]["top_tokens"][0]["prob"]);
}

TEST_F(TrainCli, BadInputGivesOneLineAndWritesNothing) {
  expect_one_line_error(
      test::run_remedi({"train", "-n", "bad", "--results-dir", *results_, "-t", "quadratic"}), "quadratic");
  EXPECT_FALSE(std::filesystem::exists(*results_ + "/bad"));
  expect_one_line_error(
      test::run_remedi({"train", "-n", "bad", "--results-dir", *results_, "-l", "30", "--train-size", "4"}),
      "--layers");
  expect_one_line_error(test::run_remedi({"edit", "-e", *results_ + "/missing", "-l", "2", "--entity", "A",
                                          "--context", "A is B", "--prompt", "A is"}),
                        "editor.json");
  expect_one_line_error(test::run_remedi({"edit", "-e", editors(), "--entity", "Nobody", "--context",
                                          "The mother tongue of Danielle Darrieux is English", "--attribute",
                                          "is English", "--prompt", "Danielle Darrieux speaks"}),
                        "Nobody");
  // Non-finite or negative numbers and a --top beyond the vocabulary: one line, exit 2.
  const std::vector<std::string> edit = {"edit",
                                         "-e",
                                         editors(),
                                         "--entity",
                                         "Danielle Darrieux",
                                         "--context",
                                         "The mother tongue of Danielle Darrieux is English",
                                         "--prompt",
                                         "Danielle Darrieux speaks"};
  const auto with = [&edit](std::vector<std::string> extra) {
    std::vector<std::string> args = edit;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  expect_one_line_error(with({"--alpha", "nan"}), "--alpha: must be a finite number");
  expect_one_line_error(with({"--beta", "inf"}), "--beta: must be a finite number");
  expect_one_line_error(with({"-l", "-1"}), "--layer: must be >= 0");
  expect_one_line_error(with({"--top", "1000000"}), "--top: 1000000 is more than the model's");
}

}  // namespace
}  // namespace remedi
