// `remedi train`, `remedi edit` and `remedi eval-fact-gen` end to end on the default model with a
// few CounterFact rows: the files they write, their JSON, resume, and one-line errors for bad input.
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

TEST_F(TrainCli, EvalFactGenWritesEfficacyAndParaphraseMetrics) {
  const auto r = test::run_remedi({"eval-fact-gen", "-n", "tiny_eval", "--results-dir", *results_, "-e",
                                   editors(), "--rows", "train[5000:5006]", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* benchmark : {"efficacy", "paraphrase"}) {
    const std::string base = *results_ + "/tiny_eval/linear/2/" + benchmark;
    const auto metrics = read_json(base + "_metrics.json");
    for (const char* key : {"score", "magnitude"}) {
      EXPECT_GE(metrics[key]["mean"].get<double>(), key == std::string("score") ? 0.0 : -1.0);
      EXPECT_LE(metrics[key]["mean"].get<double>(), 1.0);
    }
    EXPECT_EQ(metrics["samples"], 6);
    const auto rows = read_json(base + ".json");
    ASSERT_GE(rows.size(), 6U);
    EXPECT_EQ(rows[0]["id"], "5000");
    EXPECT_LE(rows[0]["after_target_mediated_score"].get<double>(), 0.0);
    EXPECT_EQ(rows[0]["before_top_tokens"].size(), 10U);
    const auto ci = metrics["score"]["ci95"];
    EXPECT_LE(ci[0].get<double>(), metrics["score"]["mean"].get<double>());
    EXPECT_GE(ci[1].get<double>(), metrics["score"]["mean"].get<double>());
  }
  // Efficacy recomputed from the per-sample scores (METHOD §8.2): p(new) > p(true), edited and unedited.
  const auto rows = read_json(*results_ + "/tiny_eval/linear/2/efficacy.json");
  const auto metrics = read_json(*results_ + "/tiny_eval/linear/2/efficacy_metrics.json");
  for (const std::string side : {"after_", "before_"}) {
    double wins = 0;
    for (const auto& row : rows) {
      wins += row[side + "target_mediated_score"].get<double>() >
                      row[side + "target_unmediated_score"].get<double>()
                  ? 1
                  : 0;
    }
    const auto& reported = side == "after_" ? metrics["score"] : metrics["unedited"]["score"];
    EXPECT_NEAR(reported["mean"].get<double>(), wins / static_cast<double>(rows.size()), 1e-12) << side;
  }
}

// Neighbourhood prompts name other subjects: the editor edits nothing there, so edited and unedited
// scores agree, and the score is p(target_true) > p(target_new) (ROME's neighbourhood success).
TEST_F(TrainCli, EvalFactGenNeighborhoodLeavesOtherSubjectsAlone) {
  const auto r = test::run_remedi({"eval-fact-gen", "-n", "tiny_hood", "--results-dir", *results_, "-e",
                                   editors(), "--rows", "train[5000:5006]", "-b", "neighborhood", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string base = *results_ + "/tiny_hood/linear/2/neighborhood";
  const auto rows = read_json(base + ".json");
  const auto metrics = read_json(base + "_metrics.json");
  ASSERT_EQ(rows.size(), 6U);
  double kept = 0;
  for (const auto& row : rows) {
    const std::string prompt = row["prompt"];
    ASSERT_EQ(prompt.find(row["entity"].get<std::string>()), std::string::npos) << prompt;
    EXPECT_DOUBLE_EQ(row["after_target_mediated_score"].get<double>(),
                     row["before_target_mediated_score"].get<double>());
    kept +=
        row["after_target_unmediated_score"].get<double>() > row["after_target_mediated_score"].get<double>()
            ? 1
            : 0;
  }
  EXPECT_NEAR(metrics["score"]["mean"].get<double>(), kept / 6.0, 1e-12);
  EXPECT_EQ(metrics["score"]["mean"], metrics["unedited"]["score"]["mean"]);
}

// Baselines (METHOD §8.7) run the unedited LM: prefix puts the context before every prompt; replace
// swaps in another subject of the same relation whose true object is the new target.
TEST_F(TrainCli, EvalFactGenBaselines) {
  const auto prefix = test::run_remedi({"eval-fact-gen", "-n", "tiny_base", "--results-dir", *results_,
                                        "--baseline", "prefix", "--rows", "train[5000:5006]", "-q"});
  ASSERT_EQ(prefix.exit_code, 0) << prefix.err;
  const auto rows = read_json(*results_ + "/tiny_base/prefix/efficacy.json");
  const auto metrics = read_json(*results_ + "/tiny_base/prefix/efficacy_metrics.json");
  ASSERT_EQ(rows.size(), 6U);
  double wins = 0;
  for (const auto& row : rows) {
    const std::string prompt = row["prompt"];
    const std::string context = row["context"];
    EXPECT_EQ(prompt.rfind(context, 0), 0U) << prompt;
    EXPECT_FALSE(row.contains("after_target_mediated_score"));
    wins += row["before_target_mediated_score"].get<double>() >
                    row["before_target_unmediated_score"].get<double>()
                ? 1
                : 0;
  }
  EXPECT_NEAR(metrics["score"]["mean"].get<double>(), wins / 6.0, 1e-12);

  const auto replace =
      test::run_remedi({"eval-fact-gen", "-n", "tiny_base", "--results-dir", *results_, "--baseline",
                        "replace", "--rows", "train[5000:5016]", "-b", "efficacy", "-q"});
  ASSERT_EQ(replace.exit_code, 0) << replace.err;
  const auto replaced = read_json(*results_ + "/tiny_base/replace/efficacy.json");
  const auto replace_metrics = read_json(*results_ + "/tiny_base/replace/efficacy_metrics.json");
  EXPECT_EQ(replaced.size() + replace_metrics["samples_without_replacement"].get<std::size_t>(), 16U);
  ASSERT_GE(replaced.size(), 8U);
  for (const auto& row : replaced) {
    const std::string entity = row["entity"];
    EXPECT_EQ(row["source"]["replacement_entity"], entity);
    EXPECT_NE(row["prompt"].get<std::string>().find(entity), std::string::npos);
    EXPECT_NE(row["context"].get<std::string>().find(entity), std::string::npos);
  }
  expect_one_line_error(test::run_remedi({"eval-fact-gen", "-n", "bad", "--results-dir", *results_,
                                          "--baseline", "prefix", "-e", editors()}),
                        "--baseline");
  expect_one_line_error(
      test::run_remedi({"eval-fact-gen", "-n", "bad", "--results-dir", *results_, "--baseline", "suffix"}),
      "suffix");
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
