// evaluate::bias_gen (METHOD §8.9) on the tiny GPT-2 fixture, decontextual, with the baseline and the
// identity editor at two layers: the baseline's label log-probs and top-3 predictions recomputed from
// plain forwards, the accuracies and means from the records, fluency from the generations, and the
// layer selection (METHOD §8.15) as the harmonic mean of top-1 accuracy and fluency.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/fluency.h"
#include "eval/results_layout.h"
#include "evaluate/bias_gen.h"
#include "evaluate/forward_checks.h"
#include "io/expect_error.h"
#include "remedi/editor_file.h"
#include "test_support.h"

namespace remedi {
namespace {

const std::vector<std::string> kLabels{"dentist", "nurse", "painter", "poet"};  // sorted titles

evaluate::BiasGenOptions tiny_options(const std::string& folder) {
  evaluate::BiasGenOptions o;
  test::tiny_run(o, "bg", folder, {1, 2}, test::write_tiny_bios(folder), 3);
  o.run_editors = true;
  o.decontextualized = true;
  o.max_new_tokens = 3;
  return o;
}

// The top-1 and top-3 accuracy and the mean fluency of `records`, checking each record's fluency.
struct Recounted {
  double top1 = 0;
  double top3 = 0;
  double fluency = 0;
};
Recounted recount(const nlohmann::json& records) {
  Recounted out;
  for (const nlohmann::json& r : records) {
    const nlohmann::json& predictions = r["predictions"];
    out.top1 += predictions[0] == r["target"] ? 1 : 0;
    out.top3 += std::find(predictions.begin(), predictions.end(), r["target"]) != predictions.end() ? 1 : 0;
    EXPECT_NEAR(r["fluency"].get<double>(), eval::weighted_ngram_entropy(r["generation"].get<std::string>()),
                1e-9);
    out.fluency += r["fluency"].get<double>();
  }
  const auto n = static_cast<double>(records.size());
  return {out.top1 / n, out.top3 / n, out.fluency / n};
}

TEST(BiasGenEvaluation, BaselineFollowsFromPlainForwardsAndTheLayerRuleFromTheMetrics) {
  const std::string folder = test::temp_dir("evaluate_bias_gen");
  const evaluate::BiasGenOptions options = tiny_options(folder);
  const lm::LoadedModel& model = test::tiny_gpt2();
  const evaluate::BiasGenResults results = evaluate::bias_gen(model, options);
  EXPECT_EQ(results.setting, "decontextual");
  const std::string setting = folder + "/bg/decontextual";
  const nlohmann::json baseline = test::read_json(eval::records_file(setting, "baseline"));
  EXPECT_EQ(baseline["metrics"], results.baseline);
  ASSERT_EQ(baseline["samples"].size(), 8U);
  for (const nlohmann::json& r : baseline["samples"]) {
    // Decontextual: "<first> has the occupation of" alone; the unedited LM ranks tok1 of each label.
    const std::string prompt = r["prompt"];
    EXPECT_TRUE(prompt.ends_with(" has the occupation of")) << prompt;
    std::vector<std::pair<double, std::string>> rank;
    for (const std::string& label : kLabels)
      rank.emplace_back(test::next_word_logp(model, prompt, label), label);
    std::stable_sort(rank.begin(), rank.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(r["predictions"][k], rank[k].second);
      EXPECT_NEAR(r["logp_predictions"][k].get<double>(), rank[k].first, 1e-4);
    }
    EXPECT_NEAR(r["logp_target"].get<double>(),
                test::next_word_logp(model, prompt, r["target"].get<std::string>()), 1e-4);
  }
  const Recounted unedited = recount(baseline["samples"]);
  EXPECT_NEAR(results.baseline["top1_accuracy"].get<double>(), unedited.top1, 1e-12);
  EXPECT_NEAR(results.baseline["topk_accuracy"].get<double>(), unedited.top3, 1e-12);
  EXPECT_NEAR(results.baseline["fluency"]["mean"].get<double>(), unedited.fluency, 1e-12);
  EXPECT_EQ(results.baseline["samples"], 8);
  EXPECT_EQ(results.baseline["labels"], 4);

  // Each editor layer: metrics from its records; the layer rule from the metrics.
  std::vector<std::pair<std::int64_t, double>> scores;
  for (const std::int64_t layer : {1, 2}) {
    const std::string out = editor_folder(setting, "identity", layer);
    const nlohmann::json records = test::read_json(eval::records_file(out, "error_correction"));
    const nlohmann::json metrics = test::read_json(eval::metrics_file(out, "error_correction"));
    EXPECT_EQ(results.layers[std::to_string(layer)], metrics);
    const Recounted edited = recount(records);
    EXPECT_NEAR(metrics["top1_accuracy"].get<double>(), edited.top1, 1e-12);
    EXPECT_NEAR(metrics["fluency"]["mean"].get<double>(), edited.fluency, 1e-12);
    const double a = edited.top1;
    const double b = edited.fluency;
    scores.emplace_back(layer, a == 0 || b == 0 ? 0.0 : 2 * a * b / (a + b));
  }
  const nlohmann::json selection = test::read_json(eval::layer_selection_file(setting + "/identity"));
  EXPECT_EQ(selection, results.layer_selection);
  for (const auto& [layer, score] : scores)
    EXPECT_NEAR(selection["scores"][std::to_string(layer)].get<double>(), score, 1e-12);
  EXPECT_EQ(selection["best_layer"], scores[1].second > scores[0].second ? 2 : 1);  // the first on a tie

  // A second run reads every result back: the same summary.
  const evaluate::BiasGenResults again = evaluate::bias_gen(model, options);
  EXPECT_EQ(again.summary("identity").dump(), results.summary("identity").dump());
  std::filesystem::remove_all(folder);
}

TEST(BiasGenEvaluation, BaselineOnlyAndBadOptions) {
  const std::string folder = test::temp_dir("evaluate_bias_gen_bad");
  evaluate::BiasGenOptions options = tiny_options(folder);
  options.max_length = 1;
  test::expect_error([&] { evaluate::bias_gen(test::tiny_gpt2(), options); }, "<argument>", "--max-length",
                     "must be at least 2");
  EXPECT_FALSE(std::filesystem::exists(folder + "/bg"));
  options = tiny_options(folder);
  options.run_editors = false;
  options.layers = {7};  // not used without editors
  const evaluate::BiasGenResults results = evaluate::bias_gen(test::tiny_gpt2(), options);
  EXPECT_TRUE(results.layers.is_null());
  EXPECT_FALSE(results.summary("identity").contains("layers"));
  EXPECT_FALSE(std::filesystem::exists(folder + "/bg/decontextual/identity"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
