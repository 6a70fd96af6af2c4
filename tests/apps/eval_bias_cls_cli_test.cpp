// `remedi eval bias-cls` end to end on the default model with the identity editor (no training) and
// the shared Bias-in-Bios samples: the files it writes, metrics that agree with its per-sample
// records, skipping finished results, the control task, one-line errors for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

bool contains(const nlohmann::json& list, const nlohmann::json& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(EvalBiasClsCli, WritesPerSampleRecordsAndMatchingMetrics) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("bias_cls_cli");
  // 13 rows of the non-accountant part of the shared samples (every 20th from 977).
  const std::vector<std::string> common{"eval", "bias-cls",        "-n",
                                        "cls",  "--results-dir",   results,
                                        "-t",   "identity",        "-l",
                                        "2",    "--entity-layers", "2",
                                        "5",    "--rows",          "train[977:1234:20]",
                                        "-q"};
  const auto r = test::run_remedi(common);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["samples"], 13);
  for (const char* entity_layer : {"2", "5"}) {
    const std::string base = results + "/cls/identity/2/error_cls_layer_" + entity_layer;
    const auto records = read_json(base + ".json");
    const auto metrics = read_json(base + "_metrics.json");
    ASSERT_EQ(records.size(), 13U);
    const std::size_t k = metrics["k"];
    EXPECT_EQ(k, 3U);
    std::set<std::string> titles;
    for (const auto& record : records) titles.insert(record["ground_truth"].get<std::string>());
    EXPECT_EQ(metrics["labels"], nlohmann::json(titles));  // sorted distinct titles
    // Recount everything from the records: positive class = the LM's top occupation is wrong.
    std::size_t tp = 0;
    std::size_t fp = 0;
    std::size_t tn = 0;
    std::size_t fn = 0;
    double probe_1 = 0;
    double probe_k = 0;
    double model_1 = 0;
    double model_k = 0;
    for (const auto& record : records) {
      const auto& model_top = record["model_top_k"];
      const auto& probe_top = record["predicted_top_k"];
      ASSERT_EQ(model_top.size(), k);
      ASSERT_EQ(probe_top.size(), k);
      ASSERT_EQ(record["model_top_k_logp"].size(), k);
      ASSERT_EQ(record["predicted_top_k_scores"].size(), k);
      for (std::size_t i = 1; i < k; ++i) {
        EXPECT_GE(record["model_top_k_logp"][i - 1].get<double>(),
                  record["model_top_k_logp"][i].get<double>());
        EXPECT_GE(record["predicted_top_k_scores"][i - 1].get<double>(),
                  record["predicted_top_k_scores"][i].get<double>());
      }
      const auto& gold = record["ground_truth"];
      const bool wrong = model_top[0] != gold;
      const bool predicted_wrong = !contains(probe_top, model_top[0]);
      EXPECT_EQ(record["lm_wrong"].get<bool>(), wrong);
      EXPECT_EQ(record["predicted_wrong"].get<bool>(), predicted_wrong);
      if (wrong) {
        ++(predicted_wrong ? tp : fn);
      } else {
        ++(predicted_wrong ? fp : tn);
      }
      probe_1 += probe_top[0] == gold ? 1 : 0;
      probe_k += contains(probe_top, gold) ? 1 : 0;
      model_1 += model_top[0] == gold ? 1 : 0;
      model_k += contains(model_top, gold) ? 1 : 0;
    }
    EXPECT_EQ(metrics["confusion"]["tp"], tp);
    EXPECT_EQ(metrics["confusion"]["fp"], fp);
    EXPECT_EQ(metrics["confusion"]["tn"], tn);
    EXPECT_EQ(metrics["confusion"]["fn"], fn);
    const double f1 = 2 * tp + fp + fn == 0 ? 0.0 : 2.0 * tp / static_cast<double>(2 * tp + fp + fn);
    EXPECT_NEAR(metrics["f1"].get<double>(), f1, 1e-12);
    EXPECT_NEAR(metrics["probe_recall_1"].get<double>(), probe_1 / 13.0, 1e-12);
    EXPECT_NEAR(metrics["probe_recall_k"].get<double>(), probe_k / 13.0, 1e-12);
    EXPECT_NEAR(metrics["model_recall_1"].get<double>(), model_1 / 13.0, 1e-12);
    EXPECT_NEAR(metrics["model_recall_k"].get<double>(), model_k / 13.0, 1e-12);
    EXPECT_TRUE(metrics.contains("mcc"));
    EXPECT_EQ(summary["layers"]["2"][entity_layer]["f1"], metrics["f1"]);
  }
  // The LM's side does not depend on the entity layer.
  const auto at_2 = read_json(results + "/cls/identity/2/error_cls_layer_2.json");
  const auto at_5 = read_json(results + "/cls/identity/2/error_cls_layer_5.json");
  EXPECT_EQ(at_2[0]["model_top_k"], at_5[0]["model_top_k"]);
  // METHOD §8.15: the entity layer with the best F1 (the lower one on a tie).
  const double f1_2 = summary["layers"]["2"]["2"]["f1"].get<double>();
  const double f1_5 = summary["layers"]["2"]["5"]["f1"].get<double>();
  EXPECT_EQ(summary["best_entity_layer"]["2"], f1_5 > f1_2 ? 5 : 2);
  bool args_file = false;
  for (const auto& entry : std::filesystem::directory_iterator(results + "/cls")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("args-") && name.ends_with(".json")) {
      args_file = true;
      EXPECT_EQ(read_json(entry.path().string())["entity_layers"], nlohmann::json({2, 5}));
    }
  }
  EXPECT_TRUE(args_file);

  // A second run keeps the finished results and reports them from their metrics files.
  std::vector<std::string> again = common;
  again.pop_back();  // without -q: the skip is announced
  const auto second = test::run_remedi(again);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("error_cls_layer_5_metrics.json exists, skipping"), std::string::npos)
      << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["layers"], summary["layers"]);

  // Control task: the same scores, shuffled y_true, its own file name.
  std::vector<std::string> control = common;
  control.emplace_back("--control-task");
  control.emplace_back("--entity-layer");  // the spelling the experiment tasks use
  control.emplace_back("5");
  std::vector<std::string> one_layer;  // drop "--entity-layers 2 5" from the common arguments
  for (std::size_t i = 0; i < control.size(); ++i) {
    if (control[i] == "--entity-layers") {
      i += 2;
      continue;
    }
    one_layer.push_back(control[i]);
  }
  ASSERT_EQ(test::run_remedi(one_layer).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(results + "/cls/identity/2/error_cls_layer_2_control_task.json"));
  const auto shuffled = read_json(results + "/cls/identity/2/error_cls_layer_5_control_task.json");
  std::size_t plain_wrong = 0;
  std::size_t shuffled_wrong = 0;
  for (std::size_t i = 0; i < at_5.size(); ++i) {
    EXPECT_EQ(at_5[i]["predicted_top_k_scores"], shuffled[i]["predicted_top_k_scores"]);
    EXPECT_EQ(at_5[i]["predicted_wrong"], shuffled[i]["predicted_wrong"]);
    plain_wrong += at_5[i]["lm_wrong"].get<bool>() ? 1 : 0;
    shuffled_wrong += shuffled[i]["lm_wrong"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(plain_wrong, shuffled_wrong);

  // --symmetric (METHOD Q18 variant): its own files, the same LM side, other probe scores.
  std::vector<std::string> symmetric = one_layer;
  symmetric.erase(std::find(symmetric.begin(), symmetric.end(), "--control-task"));
  symmetric.emplace_back("--symmetric");
  ASSERT_EQ(test::run_remedi(symmetric).exit_code, 0);
  const auto even = read_json(results + "/cls/identity/2/error_cls_layer_5_symmetric.json");
  ASSERT_EQ(even.size(), at_5.size());
  bool scores_differ = false;
  for (std::size_t i = 0; i < at_5.size(); ++i) {
    EXPECT_EQ(at_5[i]["model_top_k"], even[i]["model_top_k"]);
    scores_differ = scores_differ || at_5[i]["predicted_top_k_scores"] != even[i]["predicted_top_k_scores"];
  }
  EXPECT_TRUE(scores_differ);
  std::filesystem::remove_all(results);
}

TEST(EvalBiasClsCli, BadInputGivesOneLine) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("bias_cls_bad");
  const std::vector<std::string> base{"eval-bias-cls", "-n", "bad", "--results-dir", results, "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  const std::vector<std::string> rows{"--rows", "train[977:1000]"};
  const auto in_rows = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), rows.begin(), rows.end());
    return with(extra);
  };
  // The default rows [5000, 10000) of METHOD §3.6 lie past the shared samples' end.
  const auto past_end = with({"-t", "identity", "-l", "2"});
  expect_one_line_error(past_end, "--rows");
  EXPECT_NE(past_end.err.find("selects 0 of the data set's 1234 samples"), std::string::npos) << past_end.err;
  // Accountants only: one label.
  expect_one_line_error(with({"-t", "identity", "-l", "2", "--rows", "train[:10]"}),
                        "at least 2 distinct titles");
  expect_one_line_error(in_rows({"-t", "identity", "-l", "2", "--entity-layers", "99"}), "--entity-layers");
  expect_one_line_error(in_rows({"-t", "identity", "-l", "40"}), "--layers");
  expect_one_line_error(in_rows({"-t", "identity"}), "--layers");  // METHOD Q33: no -l and no saved editors
  expect_one_line_error(in_rows({"-t", "identity", "-l", "2", "--similarity", "euclid"}), "--similarity");
  expect_one_line_error(in_rows({"-l", "2"}), "--editors-dir");
  EXPECT_FALSE(std::filesystem::exists(results + "/bad"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
