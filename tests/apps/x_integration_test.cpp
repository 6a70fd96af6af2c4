// `remedi x run` for real on the default model, one data set family per test: train editors at one
// layer on a handful of rows (the experiment's own settings otherwise), then one of the data set's
// evaluations reads those editors. What is checked: every step succeeds, the editor lands where the
// evaluation looks for it, and the evaluation's metrics files hold finite numbers. The rows are cut
// to a few (--train-rows / --eval-rows) so that the three tests together take about two minutes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace remedi {
namespace {

using test::read_json;

namespace fs = std::filesystem;

// Runs `remedi x run NAME` with the common arguments, expecting success.
void x_run(const std::vector<std::string>& args, const std::string& results) {
  std::vector<std::string> all = {"x", "run"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"--layer", "3", "--results-dir", results});
  const test::CommandResult r = test::run_remedi(all);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Every number in a metrics file (nested objects of numbers, nulls allowed) is finite.
void expect_finite(const nlohmann::json& value, const std::string& where) {
  if (value.is_number()) {
    EXPECT_TRUE(std::isfinite(value.get<double>())) << where;
  } else if (value.is_structured()) {
    for (const auto& [key, item] : value.items()) expect_finite(item, where + "." + key);
  }
}

TEST(XIntegration, CounterFactTrainThenEditingBenchmarks) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("x_integration_cf");
  x_run({"train.counterfact", "--small", "--train-rows", "train[:16]"}, results);
  ASSERT_TRUE(fs::exists(results + "/emnlp_editors_counterfact_smollm2/linear/3"));
  x_run({"sweep.gen.counterfact", "--eval-rows", "train[5000:5003]"}, results);
  const std::string folder = results + "/emnlp_sweep_gen_counterfact_smollm2/linear/3/";
  for (const char* benchmark : {"efficacy", "paraphrase", "generation", "essence"}) {
    const std::string metrics = folder + benchmark + "_metrics.json";
    ASSERT_TRUE(fs::exists(metrics)) << metrics;
    expect_finite(read_json(metrics), benchmark);
  }
  EXPECT_EQ(read_json(folder + "efficacy.json").size(), 3U);
  fs::remove_all(results);
}

TEST(XIntegration, BiasInBiosTrainThenErrorCorrection) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("x_integration_bios");
  x_run({"train.biosbias", "--small", "--train-rows", "train[978:1234:16]"}, results);
  ASSERT_TRUE(fs::exists(results + "/emnlp_editors_biosbias_smollm2/linear/3"));
  x_run({"eval.gen.biosbias", "--eval-rows", "train[977:1234:64]"}, results);
  for (const char* setting : {"contextual", "decontextual"}) {
    const std::string folder = results + "/emnlp_eval_gen_biosbias_smollm2/" + setting;
    ASSERT_TRUE(fs::exists(folder + "/baseline.json")) << folder;
    const nlohmann::json metrics = read_json(folder + "/linear/3/error_correction_metrics.json");
    expect_finite(metrics, setting);
    EXPECT_EQ(metrics.at("k"), 3);
    EXPECT_EQ(read_json(folder + "/linear/3/error_correction.json").size(), 5U);
  }
  fs::remove_all(results);
}

TEST(XIntegration, SyntheticMcRaeTrainThenEntailment) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("x_integration_mcrae");
  const std::string norms = test::fixture("data/mcrae_synthetic.tsv");
  x_run({"train.mcrae", "--small", "-f", norms, "--train-rows", "train[:20]"}, results);
  ASSERT_TRUE(fs::exists(results + "/emnlp_editors_mcrae_smollm2/linear/3"));
  x_run({"eval.ent.mcrae", "-f", norms, "--eval-rows", "train[20:26]"}, results);
  const std::string folder = results + "/emnlp_eval_ent_mcrae_smollm2/";
  for (const std::string& metrics :
       {folder + "linear/3/entailment_metrics.json", folder + "prefix/entailment_metrics.json"}) {
    ASSERT_TRUE(fs::exists(metrics)) << metrics;
    const nlohmann::json m = read_json(metrics);
    expect_finite(m, metrics);
    EXPECT_EQ(m.value("synthetic_data", false), true) << metrics;  // never passed off as McRae results
  }
  fs::remove_all(results);
}

}  // namespace
}  // namespace remedi
