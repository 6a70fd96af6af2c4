// `remedi eval fact-mediation` end to end on the default model: per-sample records with both
// log-probs and the top tokens, metrics that are the means of the records' verdicts, one-line errors
// for bad input with nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

TEST(FactMediationCli, MetricsAreTheMeansOfThePerSampleVerdicts) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_mediation_cli");
  const auto r = test::run_remedi(
      {"eval", "fact-mediation", "-n", "med", "--results-dir", results, "--rows", "train[5000:5003]", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = read_json(results + "/med/mediation.json");
  const auto metrics = read_json(results + "/med/mediation_metrics.json");
  EXPECT_EQ(nlohmann::json::parse(r.out), metrics);  // stdout is the metrics file
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0]["id"], "5000");
  double knows = 0.0;
  double follows = 0.0;
  for (const auto& record : records) {
    const auto& bare = record["decontextual"];
    const auto& in_context = record["contextual"];
    // Decontextual: does the LM know the true object; contextual: does it follow the new one.
    EXPECT_EQ(bare["knows"].get<bool>(), bare["logp_true"].get<double>() > bare["logp_new"].get<double>());
    EXPECT_EQ(in_context["follows_context"].get<bool>(),
              in_context["logp_new"].get<double>() > in_context["logp_true"].get<double>());
    for (const auto* task : {&bare, &in_context}) {
      EXPECT_LT((*task)["logp_true"].get<double>(), 0.0);
      EXPECT_LT((*task)["logp_new"].get<double>(), 0.0);
      ASSERT_EQ((*task)["top_tokens"].size(), 3U);
      ASSERT_EQ((*task)["top_logps"].size(), 3U);
      // The best token's log-prob bounds both targets'.
      EXPECT_GE((*task)["top_logps"][0].get<double>(), (*task)["logp_true"].get<double>());
      EXPECT_GE((*task)["top_logps"][0].get<double>(), (*task)["logp_new"].get<double>());
    }
    // The context changes the scores: the two tasks score different prompts.
    EXPECT_NE(bare["logp_new"], in_context["logp_new"]);
    const auto prompt = record["prompt"].get<std::string>();
    const auto in_context_prompt = record["prompt_in_context"].get<std::string>();
    EXPECT_TRUE(in_context_prompt.ends_with(prompt)) << in_context_prompt;
    knows += bare["knows"].get<bool>() ? 1.0 : 0.0;
    follows += in_context["follows_context"].get<bool>() ? 1.0 : 0.0;
  }
  EXPECT_NEAR(metrics["decontextual"]["accuracy"]["mean"].get<double>(), knows / 3.0, 1e-12);
  EXPECT_NEAR(metrics["contextual"]["accuracy"]["mean"].get<double>(), follows / 3.0, 1e-12);
  EXPECT_EQ(metrics["samples"], 3);
  for (const char* task : {"decontextual", "contextual"}) {
    const auto& a = metrics[task]["accuracy"];
    ASSERT_EQ(a["ci95"].size(), 2U);
    EXPECT_LE(a["ci95"][0].get<double>(), a["mean"].get<double>());
    EXPECT_GE(a["ci95"][1].get<double>(), a["mean"].get<double>());
  }
  bool args_file = false;
  for (const auto& entry : std::filesystem::directory_iterator(results + "/med")) {
    const std::string name = entry.path().filename().string();
    args_file = args_file || (name.starts_with("args-") && name.ends_with(".json"));
  }
  EXPECT_TRUE(args_file);
  std::filesystem::remove_all(results);
}

TEST(FactMediationCli, BadInputGivesOneLineAndWritesNothing) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_mediation_bad");
  const std::vector<std::string> base{"eval-fact-mediation", "-n", "bad", "--results-dir", results, "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  expect_one_line_error(with({"--rows", "validation[0:3]"}), "split");
  expect_one_line_error(with({"--rows", "train[5000:5003]", "-l", "2"}), "--layers");
  expect_one_line_error(with({"--rows", "train[5000:5003]", "--batch-size", "0"}), "--batch-size");
  EXPECT_FALSE(std::filesystem::exists(results + "/bad"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
