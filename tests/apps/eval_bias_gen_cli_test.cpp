// `remedi eval bias-gen` end to end on the default model (METHOD §8.9): the unedited baseline and the
// identity editor (no training) in both settings, the files of METHOD §8.14, metrics that agree with the
// per-sample records, runs skipped when their results exist, one-line errors for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "eval/fluency.h"
#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

// Rows 977, 1027, ..., 1227: six people of (mostly) different occupations.
const std::string kRows = "train[977:1234:50]";
constexpr std::size_t kSamples = 6;

// Every record is consistent with the label set and the metrics are recomputed from the records.
void expect_records_match_metrics(const nlohmann::json& records, const nlohmann::json& metrics,
                                  bool contextual) {
  ASSERT_EQ(records.size(), kSamples);
  std::set<std::string> labels;  // METHOD §3.3: the distinct targets of the evaluated rows
  for (const auto& r : records) labels.insert(r["target"].get<std::string>());
  double top1 = 0;
  double topk = 0;
  double fluency = 0;
  double consistency = 0;
  for (const auto& r : records) {
    const std::string id = r["id"];
    const std::string first = id.substr(0, id.find('_'));
    const std::string prompt = r["prompt"];
    const std::string asked = first + " has the occupation of";
    if (contextual) {
      EXPECT_TRUE(prompt.ends_with(".\n\n" + asked)) << prompt;
      EXPECT_GT(prompt.size(), asked.size() + 3);
    } else {
      EXPECT_EQ(prompt, asked);
    }
    const std::string generation = r["generation"];
    EXPECT_EQ(generation.find(asked), std::string::npos) << generation;  // new tokens only
    const auto predictions = r["predictions"].get<std::vector<std::string>>();
    const auto logps = r["logp_predictions"].get<std::vector<double>>();
    ASSERT_EQ(predictions.size(), std::min<std::size_t>(3, labels.size()));
    ASSERT_EQ(logps.size(), predictions.size());
    EXPECT_TRUE(std::is_sorted(logps.rbegin(), logps.rend())) << r.dump();
    for (const std::string& p : predictions) EXPECT_EQ(labels.count(p), 1U) << p;
    EXPECT_EQ(std::set<std::string>(predictions.begin(), predictions.end()).size(), predictions.size());
    const std::string target = r["target"];
    const double logp_target = r["logp_target"];
    EXPECT_LT(logp_target, 0.0);
    const auto at = std::find(predictions.begin(), predictions.end(), target);
    if (at != predictions.end()) {
      EXPECT_DOUBLE_EQ(logp_target, logps[static_cast<std::size_t>(at - predictions.begin())]);
    } else {
      EXPECT_LE(logp_target, logps.back());
    }
    top1 += predictions[0] == target ? 1 : 0;
    topk += at != predictions.end() ? 1 : 0;
    EXPECT_NEAR(r["fluency"].get<double>(), eval::weighted_ngram_entropy(generation), 1e-12);
    fluency += r["fluency"].get<double>();
    EXPECT_GE(r["consistency"].get<double>(), 0.0);
    EXPECT_LE(r["consistency"].get<double>(), 1.0);
    consistency += r["consistency"].get<double>();
  }
  const auto n = static_cast<double>(kSamples);
  EXPECT_NEAR(metrics["top1_accuracy"].get<double>(), top1 / n, 1e-12);
  EXPECT_NEAR(metrics["topk_accuracy"].get<double>(), topk / n, 1e-12);
  EXPECT_EQ(metrics["k"], 3);
  EXPECT_EQ(metrics["samples"], kSamples);
  EXPECT_EQ(metrics["labels"], labels.size());
  EXPECT_EQ(metrics["setting"], contextual ? "contextual" : "decontextual");
  EXPECT_NEAR(metrics["fluency"]["mean"].get<double>(), fluency / n, 1e-9);
  EXPECT_NEAR(metrics["consistency"]["mean"].get<double>(), consistency / n, 1e-9);
  for (const char* name : {"top1_accuracy", "topk_accuracy"}) {
    const auto& interval = metrics["intervals"][name];
    EXPECT_EQ(interval["value"], metrics[name]);
    EXPECT_LE(interval["ci95"][0].get<double>(), metrics[name].get<double>());
    EXPECT_GE(interval["ci95"][1].get<double>(), metrics[name].get<double>());
  }
  EXPECT_LE(metrics["fluency"]["ci95"][0].get<double>(), metrics["fluency"]["mean"].get<double>());
}

TEST(EvalBiasGenCli, ContextualBaselineAndEditorRecordsMatchMetrics) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("bias_gen_cli");
  const std::vector<std::string> args{
      "eval",   "bias-gen", "-n",           "bias", "--results-dir",    results, "-t", "identity", "-l", "3",
      "--rows", kRows,      "--batch-size", "3",    "--max-new-tokens", "5",     "-q"};
  const auto r = test::run_remedi(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  const std::string folder = results + "/bias/contextual";
  const auto baseline = read_json(folder + "/baseline.json");
  const auto records = read_json(folder + "/identity/3/error_correction.json");
  const auto metrics = read_json(folder + "/identity/3/error_correction_metrics.json");
  expect_records_match_metrics(baseline["samples"], baseline["metrics"], true);
  expect_records_match_metrics(records, metrics, true);
  EXPECT_EQ(summary["setting"], "contextual");
  EXPECT_EQ(summary["baseline"], baseline["metrics"]);
  EXPECT_EQ(summary["layers"]["3"], metrics);
  EXPECT_FALSE(summary.contains("layer_selection"));  // METHOD §8.15 selects on the decontextual sweep
  // The same prompts; the edit (at the prompt's mention of the person) moves the label scores.
  bool moved = false;
  for (std::size_t i = 0; i < kSamples; ++i) {
    EXPECT_EQ(records[i]["prompt"], baseline["samples"][i]["prompt"]);
    moved = moved || records[i]["logp_target"] != baseline["samples"][i]["logp_target"];
  }
  EXPECT_TRUE(moved);
  bool args_file = false;
  for (const auto& entry : std::filesystem::directory_iterator(results + "/bias")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("args-") && name.ends_with(".json")) {
      args_file = true;
      EXPECT_EQ(read_json(entry.path().string())["max_new_tokens"], 5);
    }
  }
  EXPECT_TRUE(args_file);

  // METHOD §8.14: a second run keeps the existing results and says so.
  const std::string before = test::read_file(folder + "/identity/3/error_correction.json");
  const auto again = test::run_remedi(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("baseline.json exists, skipping"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("identity/3/error_correction_metrics.json exists, skipping"), std::string::npos)
      << again.err;
  EXPECT_EQ(test::read_file(folder + "/identity/3/error_correction.json"), before);
  const auto summary_again = nlohmann::json::parse(again.out);
  EXPECT_EQ(summary_again["baseline"], baseline["metrics"]);
  EXPECT_EQ(summary_again["layers"]["3"], metrics);
  std::filesystem::remove_all(results);
}

TEST(EvalBiasGenCli, DecontextualAndBaselineOnlyRuns) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("bias_gen_decontextual");
  // No -e/-t/-l: the unedited baseline alone; the budget counts the left-padded prompt (METHOD Q12).
  const auto r =
      test::run_remedi({"eval-bias-gen", "-n", "bias", "--results-dir", results, "--decontextualized",
                        "--rows", kRows, "--batch-size", "3", "--max-length", "12", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  const auto baseline = read_json(results + "/bias/decontextual/baseline.json");
  expect_records_match_metrics(baseline["samples"], baseline["metrics"], false);
  EXPECT_EQ(baseline["metrics"]["rows_in_overlong_batches"], 0);
  EXPECT_EQ(summary["baseline"], baseline["metrics"]);
  EXPECT_FALSE(summary.contains("layers"));
  EXPECT_FALSE(std::filesystem::exists(results + "/bias/decontextual/linear"));
  EXPECT_FALSE(std::filesystem::exists(results + "/bias/contextual"));

  // Contextual prompts (bio first) wider than --max-length: one new token each, as HF generate gives.
  const auto overlong = test::run_remedi({"eval", "bias-gen", "-n", "long", "--results-dir", results,
                                          "--rows", kRows, "--batch-size", "3", "--max-length", "10", "-q"});
  ASSERT_EQ(overlong.exit_code, 0) << overlong.err;
  const auto long_baseline = read_json(results + "/long/contextual/baseline.json");
  EXPECT_EQ(long_baseline["metrics"]["rows_in_overlong_batches"], kSamples);
  expect_records_match_metrics(long_baseline["samples"], long_baseline["metrics"], true);
  std::filesystem::remove_all(results);
}

TEST(EvalBiasGenCli, BadInputGivesOneLine) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("bias_gen_bad");
  const std::vector<std::string> base{"eval-bias-gen", "-n", "bad", "--results-dir", results, "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  // The evaluation rows [5000, 10000) of METHOD §3.6 are past the end of the shared samples.
  const auto empty = with({});
  expect_one_line_error(empty, "--rows");
  EXPECT_NE(empty.err.find("of the data set's 1234 samples"), std::string::npos) << empty.err;
  expect_one_line_error(with({"--rows", kRows, "-t", "identity", "-l", "99"}), "--layers");
  expect_one_line_error(with({"--rows", kRows, "-l", "2"}), "--editors-dir");
  expect_one_line_error(with({"--rows", kRows, "--max-length", "1"}), "--max-length");
  // The attribute alone does not mention the person: the contextual prompt has no second mention.
  expect_one_line_error(with({"--rows", kRows, "--attribute-no-entity"}), "--decontextualized");
  EXPECT_FALSE(std::filesystem::exists(results + "/bad"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
