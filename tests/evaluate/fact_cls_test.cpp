// evaluate::fact_cls (METHOD §8.8) on the tiny GPT-2 fixture with the identity editor, whose direction
// is the attribute representation itself, so that every score can be recomputed from plain forwards:
// log-probs of the two objects, dot products of the entity's state with the directions, the confusion
// counts and F1 from the records, the best entity layer, and results read back instead of recomputed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "data/derived.h"
#include "eval/results_layout.h"
#include "evaluate/fact_cls.h"
#include "evaluate/forward_checks.h"
#include "io/expect_error.h"
#include "remedi/editor_file.h"
#include "test_support.h"

namespace remedi {
namespace {

constexpr std::int64_t kEditorLayer = 1;

evaluate::ClassificationOptions tiny_options(const std::string& folder) {
  evaluate::ClassificationOptions o;
  // All eight rows in batches of different lengths, the last one short.
  test::tiny_run(o, "fc", folder, {kEditorLayer}, test::write_tiny_counterfact(folder), 3);
  o.entity_layers = {1, 2};
  o.no_normalize = true;  // raw dot products, to compare with plain ones
  return o;
}

double dot_product(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum().item<double>(); }

TEST(FactClsEvaluation, ScoresAreDotProductsOfPlainForwardsAndMetricsFollowFromRecords) {
  const std::string folder = test::temp_dir("evaluate_fact_cls");
  const evaluate::ClassificationOptions options = tiny_options(folder);
  const lm::LoadedModel& model = test::tiny_gpt2();
  const evaluate::FactClsResults results = evaluate::fact_cls(model, options);
  EXPECT_EQ(results.experiment, folder + "/fc");
  const std::vector<data::MediationSample> samples =
      evaluate::load_samples({"counterfact", options.data.file, "", "", options.data.seed});
  ASSERT_EQ(samples.size(), 8U);
  const std::string layer_folder = editor_folder(results.experiment, "identity", kEditorLayer);
  for (const std::int64_t entity_layer : {1, 2}) {
    const std::string stem = eval::fact_cls_stem(entity_layer, "");
    const nlohmann::json records = test::read_json(eval::records_file(layer_folder, stem));
    const nlohmann::json metrics = test::read_json(eval::metrics_file(layer_folder, stem));
    ASSERT_EQ(records.size(), samples.size());
    for (const char* task : {"contextual", "decontextual"}) {
      test::Confusion confusion;
      for (std::size_t i = 0; i < samples.size(); ++i) {
        const data::MediationSample& s = samples[i];
        const bool contextual = std::string(task) == "contextual";
        // Contextual: the prompt after the context, target the new object, the prompt's own mention
        // (the second one); decontextual: the bare prompt, target the true object.
        const std::string text = contextual ? data::prompt_in_context(s) : s.prompt;
        const std::string target = contextual ? s.target_mediated : *s.target_unmediated;
        const std::string comparator = contextual ? *s.target_unmediated : s.target_mediated;
        const torch::Tensor d_new = test::mean_over(model, s.context, s.attribute, kEditorLayer);
        const torch::Tensor d_true =
            test::mean_over(model, data::unmediated_context(s), data::unmediated_attribute(s), kEditorLayer);
        const torch::Tensor h =
            test::last_token_state(model, text, s.entity, contextual ? 1 : 0, entity_layer);
        const nlohmann::json& r = records[i][task];
        EXPECT_EQ(records[i]["id"], s.id);
        EXPECT_NEAR(r["logp_target"].get<double>(), test::next_word_logp(model, text, target), 1e-4) << i;
        EXPECT_NEAR(r["logp_comparator"].get<double>(), test::next_word_logp(model, text, comparator), 1e-4);
        const double score_target = dot_product(h, contextual ? d_new : d_true);
        const double score_comparator = dot_product(h, contextual ? d_true : d_new);
        EXPECT_NEAR(r["score_target"].get<double>(), score_target, 1e-4 * (1 + std::abs(score_target))) << i;
        EXPECT_NEAR(r["score_comparator"].get<double>(), score_comparator,
                    1e-4 * (1 + std::abs(score_comparator)));
        const bool right = r["logp_target"].get<double>() > r["logp_comparator"].get<double>();
        const bool predicted_right = r["score_target"].get<double>() > r["score_comparator"].get<double>();
        EXPECT_EQ(r["lm_right"].get<bool>(), right);
        EXPECT_EQ(r["predicted_right"].get<bool>(), predicted_right);
        confusion.add(!right, !predicted_right);
      }
      confusion.expect_in(metrics[task]);
      EXPECT_EQ(results.layers["1"][std::to_string(entity_layer)][task]["f1"], metrics[task]["f1"]);
    }
  }
  // METHOD §8.15: the entity layer of best contextual F1, the lower one on a tie.
  const double f1_1 = results.layers["1"]["1"]["contextual"]["f1"].get<double>();
  const double f1_2 = results.layers["1"]["2"]["contextual"]["f1"].get<double>();
  EXPECT_EQ(results.best_entity_layer, nlohmann::json({{"1", f1_2 > f1_1 ? 2 : 1}}));
  EXPECT_EQ(results.summary()["best_entity_layer"], results.best_entity_layer);
  std::filesystem::remove_all(folder);
}

TEST(FactClsEvaluation, FinishedPairsAreReadBackAndChooseTheEntityLayer) {
  const std::string folder = test::temp_dir("evaluate_fact_cls_resume");
  const evaluate::ClassificationOptions options = tiny_options(folder);
  const lm::LoadedModel& model = test::tiny_gpt2();
  evaluate::fact_cls(model, options);
  const std::string metrics_file =
      eval::metrics_file(editor_folder(folder + "/fc", "identity", kEditorLayer), eval::fact_cls_stem(2, ""));
  const auto with_f1 = [&](const nlohmann::json& f1) {
    nlohmann::json metrics = test::read_json(metrics_file);
    metrics["contextual"]["f1"] = f1;
    test::write_file(metrics_file, metrics.dump());
    return evaluate::fact_cls(model, options);
  };
  // A perfect F1 at entity layer 2, read back from its file, wins; an undefined one (null) never does.
  const evaluate::FactClsResults perfect = with_f1(1.0);
  EXPECT_EQ(perfect.layers["1"]["2"]["contextual"]["f1"], 1.0);
  EXPECT_EQ(perfect.best_entity_layer["1"], 2);
  const evaluate::FactClsResults undefined = with_f1(nullptr);
  EXPECT_TRUE(undefined.layers["1"]["2"]["contextual"]["f1"].is_null());
  EXPECT_EQ(undefined.best_entity_layer["1"], 1);
  std::filesystem::remove_all(folder);
}

TEST(FactClsEvaluation, BadOptionsNameTheirFlagAndWriteNothing) {
  const std::string folder = test::temp_dir("evaluate_fact_cls_bad");
  evaluate::ClassificationOptions options = tiny_options(folder);
  options.entity_layers = {3};  // the fixture has blocks 0..2
  test::expect_error([&] { evaluate::fact_cls(test::tiny_gpt2(), options); }, "<argument>", "--entity-layers",
                     "3 is outside the model's layers 0..2");
  options = tiny_options(folder);
  options.similarity = "euclid";
  test::expect_error([&] { evaluate::fact_cls(test::tiny_gpt2(), options); }, "<argument>", "--similarity",
                     "'euclid' is not one of dot, cosine");
  EXPECT_FALSE(std::filesystem::exists(folder + "/fc"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
