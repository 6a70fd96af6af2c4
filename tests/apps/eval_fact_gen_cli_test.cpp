// `remedi eval fact-gen` end to end on the default model with the shipped editor (data/editors) and a
// few CounterFact rows: the files it writes, the metrics recomputed from its records, the baselines,
// and one-line errors for bad flags. The numbers themselves are checked against the model in
// tests/evaluate/fact_gen_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

using test::read_json;

class EvalFactGenCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::default_model_path().empty())
      GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
    results_ = test::temp_dir("eval_fact_gen_cli");
  }
  void TearDown() override {
    if (!results_.empty()) std::filesystem::remove_all(results_);
  }
  static constexpr const char* kEditors = "smollm2-counterfact";  // trained at layer 6
  std::string results_;
};

TEST_F(EvalFactGenCli, WritesEfficacyAndParaphraseMetrics) {
  const auto r = test::run_remedi({"eval-fact-gen", "-n", "eval", "--results-dir", results_, "-e", kEditors,
                                   "-l", "6", "--rows", "train[5000:5006]", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["experiment"], results_ + "/eval");
  EXPECT_EQ(out["type"], "linear");
  EXPECT_FALSE(out.contains("layer_selection"));  // needs paraphrase and generation
  for (const char* benchmark : {"efficacy", "paraphrase"}) {
    const std::string base = results_ + "/eval/linear/6/" + benchmark;
    const auto metrics = read_json(base + "_metrics.json");
    EXPECT_EQ(out["layers"]["6"][benchmark], metrics);
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
  const auto rows = read_json(results_ + "/eval/linear/6/efficacy.json");
  const auto metrics = read_json(results_ + "/eval/linear/6/efficacy_metrics.json");
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
  bool has_args = false;
  for (const auto& entry : std::filesystem::directory_iterator(results_ + "/eval"))
    has_args = has_args || entry.path().filename().string().starts_with("args-");
  EXPECT_TRUE(has_args);
}

// Neighbourhood prompts name other subjects: the editor edits nothing there, so edited and unedited
// scores agree, and the score is p(target_true) > p(target_new) (ROME's neighbourhood success).
TEST_F(EvalFactGenCli, NeighborhoodLeavesOtherSubjectsAlone) {
  const auto r = test::run_remedi({"eval-fact-gen", "-n", "hood", "--results-dir", results_, "-e", kEditors,
                                   "-l", "6", "--rows", "train[5000:5006]", "-b", "neighborhood", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string base = results_ + "/hood/linear/6/neighborhood";
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
TEST_F(EvalFactGenCli, Baselines) {
  const auto prefix = test::run_remedi({"eval-fact-gen", "-n", "base", "--results-dir", results_,
                                        "--baseline", "prefix", "--rows", "train[5000:5006]", "-q"});
  ASSERT_EQ(prefix.exit_code, 0) << prefix.err;
  EXPECT_EQ(nlohmann::json::parse(prefix.out)["baseline"], "prefix");
  const auto rows = read_json(results_ + "/base/prefix/efficacy.json");
  const auto metrics = read_json(results_ + "/base/prefix/efficacy_metrics.json");
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
      test::run_remedi({"eval-fact-gen", "-n", "base", "--results-dir", results_, "--baseline", "replace",
                        "--rows", "train[5000:5016]", "-b", "efficacy", "-q"});
  ASSERT_EQ(replace.exit_code, 0) << replace.err;
  const auto replaced = read_json(results_ + "/base/replace/efficacy.json");
  const auto replace_metrics = read_json(results_ + "/base/replace/efficacy_metrics.json");
  EXPECT_EQ(replaced.size() + replace_metrics["samples_without_replacement"].get<std::size_t>(), 16U);
  ASSERT_GE(replaced.size(), 8U);
  for (const auto& row : replaced) {
    const std::string entity = row["entity"];
    EXPECT_EQ(row["source"]["replacement_entity"], entity);
    EXPECT_NE(row["prompt"].get<std::string>().find(entity), std::string::npos);
    EXPECT_NE(row["context"].get<std::string>().find(entity), std::string::npos);
  }
}

TEST_F(EvalFactGenCli, BadFlagsGiveOneLineAndWriteNothing) {
  test::expect_one_line_error(test::run_remedi({"eval-fact-gen", "-n", "bad", "--results-dir", results_,
                                                "--baseline", "prefix", "-e", kEditors}),
                              "--baseline");
  test::expect_one_line_error(
      test::run_remedi({"eval-fact-gen", "-n", "bad", "--results-dir", results_, "--baseline", "suffix"}),
      "suffix");
  test::expect_one_line_error(test::run_remedi({"eval", "fact-gen", "-n", "bad", "--results-dir", results_,
                                                "-b", "efficacy", "fluency"}),
                              "--benchmarks");
  test::expect_one_line_error(test::run_remedi({"eval", "fact-gen", "-n", "bad", "--results-dir", results_,
                                                "-e", results_ + "/missing", "-l", "6"}),
                              "missing");
  EXPECT_FALSE(std::filesystem::exists(results_ + "/bad"));
}

}  // namespace
}  // namespace remedi
