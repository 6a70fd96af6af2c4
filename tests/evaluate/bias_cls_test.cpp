// evaluate::bias_cls (METHOD §8.10) on the tiny GPT-2 fixture with the identity editor and eight
// short bios of four occupations: the LM's label log-probs and the probe's scores recomputed from
// plain forwards, the verdicts, recalls and F1 from the records, the best entity layer, and a second
// run that reads everything back.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "data/derived.h"
#include "eval/results_layout.h"
#include "evaluate/bias_cls.h"
#include "evaluate/forward_checks.h"
#include "remedi/bias_classification.h"
#include "remedi/editor_file.h"
#include "test_support.h"

namespace remedi {
namespace {

constexpr std::int64_t kEditorLayer = 1;

TEST(BiasClsEvaluation, ScoresFollowFromPlainForwardsAndMetricsFromRecords) {
  const std::string folder = test::temp_dir("evaluate_bias_cls");
  evaluate::BiasClsOptions options;
  test::tiny_run(options, "bc", folder, {kEditorLayer}, test::write_tiny_bios(folder), 3);
  options.entity_layers = {1, 2};
  options.no_normalize = true;  // raw dot products, to compare with plain ones
  const lm::LoadedModel& model = test::tiny_gpt2();
  const evaluate::BiasClsResults results = evaluate::bias_cls(model, options);
  EXPECT_TRUE(results.computed);
  const std::vector<data::MediationSample> samples =
      evaluate::load_samples({"biosbias", options.data.file, "", "", options.data.seed});
  ASSERT_EQ(samples.size(), 8U);
  EXPECT_EQ(results.samples, 8U);
  const std::vector<std::string> labels{"dentist", "nurse", "painter", "poet"};  // sorted titles
  EXPECT_EQ(results.labels, labels.size());
  const std::string layer_folder = editor_folder(results.experiment, "identity", kEditorLayer);
  for (const std::int64_t entity_layer : {1, 2}) {
    const std::string stem = "error_cls_layer_" + std::to_string(entity_layer);
    const nlohmann::json records = test::read_json(eval::records_file(layer_folder, stem));
    const nlohmann::json metrics = test::read_json(eval::metrics_file(layer_folder, stem));
    ASSERT_EQ(records.size(), 8U);
    EXPECT_EQ(metrics["labels"], labels);
    test::Confusion confusion;
    double probe_1 = 0, probe_k = 0, model_1 = 0, model_k = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const data::MediationSample& s = samples[i];
      const nlohmann::json& r = records[i];
      const std::string text = data::prompt_in_context(s);
      // The LM's ranking: log p(tok1(label)) after the bio and the prompt, best first.
      std::vector<std::pair<double, std::string>> lm_rank;
      for (const std::string& label : labels)
        lm_rank.emplace_back(test::next_word_logp(model, text, label), label);
      std::stable_sort(lm_rank.begin(), lm_rank.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      ASSERT_EQ(r["model_top_k"].size(), 3U);
      for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(r["model_top_k"][k], lm_rank[k].second) << i;
        EXPECT_NEAR(r["model_top_k_logp"][k].get<double>(), lm_rank[k].first, 1e-4);
      }
      // The probe's: the person's state (the prompt's mention, after the bio's) against each label's
      // direction, the identity editor's attribute representation of "<entity> <attribute>".
      const torch::Tensor h = test::last_token_state(model, text, s.entity, 1, entity_layer);
      for (std::size_t k = 0; k < 3; ++k) {
        const data::MediationSample labelled =
            label_sample(s, r["predicted_top_k"][k].get<std::string>(), false);
        const double score = (h * test::mean_over(model, labelled.context, labelled.attribute, kEditorLayer))
                                 .sum()
                                 .item<double>();
        EXPECT_NEAR(r["predicted_top_k_scores"][k].get<double>(), score, 1e-4 * (1 + std::abs(score))) << i;
      }
      const std::string gold = s.target_mediated;
      const std::string lm_first = r["model_top_k"][0];
      const bool wrong = gold != lm_first;
      const nlohmann::json& probe = r["predicted_top_k"];
      const bool predicted_wrong = std::find(probe.begin(), probe.end(), lm_first) == probe.end();
      EXPECT_EQ(r["ground_truth"], gold);
      EXPECT_EQ(r["lm_wrong"].get<bool>(), wrong);
      EXPECT_EQ(r["predicted_wrong"].get<bool>(), predicted_wrong);
      confusion.add(wrong, predicted_wrong);
      probe_1 += probe[0] == gold ? 1 : 0;
      probe_k += std::find(probe.begin(), probe.end(), gold) != probe.end() ? 1 : 0;
      model_1 += lm_first == gold ? 1 : 0;
      const nlohmann::json& lm_top = r["model_top_k"];
      model_k += std::find(lm_top.begin(), lm_top.end(), gold) != lm_top.end() ? 1 : 0;
    }
    confusion.expect_in(metrics);
    EXPECT_NEAR(metrics["probe_recall_1"].get<double>(), probe_1 / 8.0, 1e-12);
    EXPECT_NEAR(metrics["probe_recall_k"].get<double>(), probe_k / 8.0, 1e-12);
    EXPECT_NEAR(metrics["model_recall_1"].get<double>(), model_1 / 8.0, 1e-12);
    EXPECT_NEAR(metrics["model_recall_k"].get<double>(), model_k / 8.0, 1e-12);
    EXPECT_EQ(results.layers["1"][std::to_string(entity_layer)]["f1"], metrics["f1"]);
  }
  // METHOD §8.15: the entity layer of best F1, the lower one on a tie.
  const double f1_1 = results.layers["1"]["1"]["f1"].get<double>();
  const double f1_2 = results.layers["1"]["2"]["f1"].get<double>();
  EXPECT_EQ(results.best_entity_layer, nlohmann::json({{"1", f1_2 > f1_1 ? 2 : 1}}));

  // Everything exists now: read back, nothing computed, the same summary.
  const evaluate::BiasClsResults again = evaluate::bias_cls(model, options);
  EXPECT_FALSE(again.computed);
  // (Compared as written: an undefined MCC is NaN in memory and null in a file.)
  EXPECT_EQ(again.summary().dump(), results.summary().dump());
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
