// `remedi eval-fact-cls` end to end on the default model with the identity editor (no training):
// the files it writes, metrics that agree with its per-sample records, the control task, one-line
// errors for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

TEST(EvalFactClsCli, WritesPerSampleRecordsAndMatchingMetrics) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_cls_cli");
  // The two-word form; BadInputGivesOneLine uses the one-word form.
  const std::vector<std::string> common{"eval", "fact-cls",        "-n",
                                        "cls",  "--results-dir",   results,
                                        "-t",   "identity",        "-l",
                                        "2",    "--entity-layers", "2",
                                        "5",    "--rows",          "train[5000:5012]",
                                        "-q"};
  const auto r = test::run_remedi(common);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  for (const char* entity_layer : {"2", "5"}) {
    const std::string base = results + "/cls/identity/2/fact_cls_layer_" + entity_layer;
    const auto records = read_json(base + ".json");
    const auto metrics = read_json(base + "_metrics.json");
    ASSERT_EQ(records.size(), 12U);
    EXPECT_EQ(records[0]["id"], "5000");
    for (const char* task : {"contextual", "decontextual"}) {
      // Recount from the records: positive class = the LM is wrong.
      std::size_t tp = 0;
      std::size_t fp = 0;
      std::size_t tn = 0;
      std::size_t fn = 0;
      for (const auto& record : records) {
        const auto& t = record[task];
        const bool right = t["logp_target"].get<double>() > t["logp_comparator"].get<double>();
        const bool predicted_right = t["score_target"].get<double>() > t["score_comparator"].get<double>();
        EXPECT_EQ(t["lm_right"].get<bool>(), right);
        EXPECT_EQ(t["predicted_right"].get<bool>(), predicted_right);
        if (!right) {
          ++(!predicted_right ? tp : fn);
        } else {
          ++(!predicted_right ? fp : tn);
        }
      }
      const auto& m = metrics[task];
      EXPECT_EQ(m["confusion"]["tp"], tp);
      EXPECT_EQ(m["confusion"]["fp"], fp);
      EXPECT_EQ(m["confusion"]["tn"], tn);
      EXPECT_EQ(m["confusion"]["fn"], fn);
      EXPECT_NEAR(m["accuracy"].get<double>(), static_cast<double>(tp + tn) / 12.0, 1e-12);
      const double f1 = 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
      EXPECT_NEAR(m["f1"].get<double>(), 2 * tp + fp + fn == 0 ? 0.0 : f1, 1e-12);
      EXPECT_EQ(summary["layers"]["2"][entity_layer][task]["f1"], m["f1"]);
    }
    // Contextual target: log p(new | context + prompt); decontextual: log p(true | prompt).
    EXPECT_NE(records[0]["contextual"]["logp_target"], records[0]["decontextual"]["logp_target"]);
  }
  // METHOD §8.15: the entity layer with the best contextual F1 (the lower one on a tie).
  const double f1_2 = summary["layers"]["2"]["2"]["contextual"]["f1"].get<double>();
  const double f1_5 = summary["layers"]["2"]["5"]["contextual"]["f1"].get<double>();
  EXPECT_EQ(summary["best_entity_layer"]["2"], f1_5 > f1_2 ? 5 : 2);
  bool args_file = false;  // the arguments beside the results
  for (const auto& entry : std::filesystem::directory_iterator(results + "/cls")) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("args-") && name.ends_with(".json")) {
      args_file = true;
      EXPECT_EQ(read_json(entry.path().string())["entity_layers"], nlohmann::json({2, 5}));
    }
  }
  EXPECT_TRUE(args_file);

  // METHOD §8.14: a second run, with one more entity layer, reads the two finished pairs back and
  // computes only the new one.
  std::vector<std::string> again = common;
  again.pop_back();  // without -q
  again.insert(again.begin() + 12, "7");
  const auto second = test::run_remedi(again);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("fact_cls_layer_2_metrics.json exists, skipping"), std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("fact_cls_layer_5_metrics.json exists, skipping"), std::string::npos)
      << second.err;
  const auto resumed = nlohmann::json::parse(second.out);
  EXPECT_EQ(resumed["layers"]["2"]["2"], summary["layers"]["2"]["2"]);
  EXPECT_EQ(resumed["layers"]["2"]["5"], summary["layers"]["2"]["5"]);
  EXPECT_TRUE(std::filesystem::exists(results + "/cls/identity/2/fact_cls_layer_7_metrics.json"));

  // Control task: the same scores, shuffled labels, its own file name.
  std::vector<std::string> control = common;
  control.emplace_back("--control-task");
  ASSERT_EQ(test::run_remedi(control).exit_code, 0);
  const auto plain = read_json(results + "/cls/identity/2/fact_cls_layer_5.json");
  const auto shuffled = read_json(results + "/cls/identity/2/fact_cls_layer_5_control_task.json");
  std::size_t plain_right = 0;
  std::size_t shuffled_right = 0;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i]["contextual"]["score_target"], shuffled[i]["contextual"]["score_target"]);
    plain_right += plain[i]["contextual"]["lm_right"].get<bool>() ? 1 : 0;
    shuffled_right += shuffled[i]["contextual"]["lm_right"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(plain_right, shuffled_right);
  std::filesystem::remove_all(results);
}

TEST(EvalFactClsCli, BadInputGivesOneLine) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_cls_bad");
  const std::vector<std::string> base{"eval-fact-cls",    "-n", "bad", "--results-dir", results, "--rows",
                                      "train[5000:5004]", "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  expect_one_line_error(with({"-t", "identity", "-l", "2", "--entity-layers", "99"}), "--entity-layers");
  expect_one_line_error(with({"-t", "identity", "-l", "40"}), "--layers");
  expect_one_line_error(with({"-t", "identity", "-l", "2", "--similarity", "euclid"}), "--similarity");
  expect_one_line_error(with({"-l", "2"}), "--editors-dir");
  EXPECT_FALSE(std::filesystem::exists(results + "/bad/identity"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
