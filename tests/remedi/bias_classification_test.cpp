// Bias-in-Bios error classification (METHOD §8.10): labels and the editor's label contexts, top-k with
// ties, scores, y_true / y_pred, recalls and F1 / MCC of a hand-computed case, the pooled z-scoring,
// the control task's shuffle, and (default model) the probe and the directions against direct passes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "data/derived.h"
#include "data/python_random.h"
#include "lm/model.h"
#include "remedi/bias_classification.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi {
namespace {

data::MediationSample bio(const std::string& id, const std::string& entity, const std::string& attribute,
                          const std::string& title) {
  data::MediationSample s;
  s.id = id;
  s.entity = entity;
  s.attribute = attribute;
  s.context = "About " + entity + ": " + attribute + ".";
  s.prompt = entity + " has the occupation of";
  s.target_mediated = title;
  return s;
}

TEST(BiasClassification, LabelsAreTheSortedDistinctTitles) {
  const std::vector<data::MediationSample> samples = {bio("a", "Ana", "She sings", "nurse"),
                                                      bio("b", "Bo", "He paints", "accountant"),
                                                      bio("c", "Cy", "He counts", "nurse")};
  EXPECT_EQ(occupation_labels(samples), (std::vector<std::string>{"accountant", "nurse"}));
  EXPECT_EQ(gold_label_indices(samples, {"accountant", "nurse"}), (std::vector<std::int64_t>{1, 0, 1}));
  EXPECT_THROW(gold_label_indices(samples, {"nurse"}), Error);
}

TEST(BiasClassification, LabelSampleUsesTheBioForTheTitleAndATemplateOtherwise) {
  const data::MediationSample s = bio("a", "Ana", "She cares for patients", "nurse");
  const data::MediationSample gold = label_sample(s, "nurse", false);
  EXPECT_EQ(gold.attribute, "She cares for patients");
  EXPECT_EQ(gold.context, "Ana She cares for patients");
  const data::MediationSample other = label_sample(s, "yoga teacher", false);
  EXPECT_EQ(other.attribute, "has the occupation of yoga teacher");
  EXPECT_EQ(other.context, "Ana has the occupation of yoga teacher");
  EXPECT_EQ(other.entity, "Ana");
  EXPECT_EQ(label_sample(s, "dj", true).context, "has the occupation of dj");  // --attribute-no-entity
  // --symmetric: the template for the gold label too.
  EXPECT_EQ(label_sample(s, "nurse", false, true).attribute, "has the occupation of nurse");
  EXPECT_EQ(label_sample(s, "nurse", false, true).context, s.entity + " has the occupation of nurse");
}

TEST(BiasClassification, TopKIsDescendingWithTiesToTheLowerIndex) {
  const torch::Tensor scores = torch::tensor({0.5F, 2.0F, 2.0F, -1.0F});
  EXPECT_EQ(top_k_indices(scores, 3), (std::vector<std::int64_t>{1, 2, 0}));
  EXPECT_EQ(top_k_indices(scores, 1), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(top_k_indices(scores, 10), (std::vector<std::int64_t>{1, 2, 0, 3}));
}

// N = 3 samples, K = 3 labels, H = 2, k = 2, by hand (dot, no normalization):
//   scores   row 0 (2, 0, 1)  probe top-2 [0, 2]; logp (-1, -2, -3)   model top-2 [0, 1]; gold 0
//            row 1 (1, 3, -1) probe top-2 [1, 0]; logp (-.5, -3, -1)  model top-2 [0, 2]; gold 1
//            row 2 (1, 1, 4)  probe top-2 [2, 0]; logp (-2, -1, -1)   model top-2 [1, 2]; gold 2
//   y_true (gold != model top-1) = (F, T, T); y_pred (model top-1 not in probe top-2) = (F, F, T):
//   TN, FN, TP -> F1 = 2/3, MCC = (1·1 − 0·1)/√(1·2·1·2) = 1/2, accuracy 2/3.
//   probe recall@1 = 1, @2 = 1; model recall@1 = 1/3, @2 = 2/3.
struct HandCase {
  torch::Tensor entity = torch::tensor({1.0F, 0.0F, 0.0F, 1.0F, 1.0F, 1.0F}).view({3, 2});
  torch::Tensor directions = torch::tensor({2.0F, 0.0F, 0.0F, 5.0F, 1.0F, 1.0F,   // row 0
                                            0.0F, 1.0F, 0.0F, 3.0F, 0.0F, -1.0F,  // row 1
                                            1.0F, 0.0F, 0.0F, 1.0F, 2.0F, 2.0F})  // row 2
                                 .view({3, 3, 2});
  torch::Tensor logp =
      torch::tensor({-1.0F, -2.0F, -3.0F, -0.5F, -3.0F, -1.0F, -2.0F, -1.0F, -1.0F}).view({3, 3});
  std::vector<std::int64_t> gold{0, 1, 2};
  ErrorClassifierOptions options() const {
    ErrorClassifierOptions o;
    o.normalize = false;
    o.k = 2;
    return o;
  }
};

TEST(BiasClassification, ScoresLabelsRecallsAndMetricsByHand) {
  const HandCase c;
  const ErrorClassificationResult r = classify_errors(c.entity, c.directions, c.logp, c.gold, c.options());
  EXPECT_EQ(r.k, 2U);
  EXPECT_TRUE(torch::equal(
      r.scores, torch::tensor({2.0F, 0.0F, 1.0F, 1.0F, 3.0F, -1.0F, 1.0F, 1.0F, 4.0F}).view({3, 3})));
  EXPECT_EQ(r.probe_top_k, (std::vector<std::vector<std::int64_t>>{{0, 2}, {1, 0}, {2, 0}}));
  EXPECT_EQ(r.model_top_k, (std::vector<std::vector<std::int64_t>>{{0, 1}, {0, 2}, {1, 2}}));
  EXPECT_EQ(r.lm_wrong, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(r.predicted_wrong, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(r.binary.confusion.true_positives, 1U);
  EXPECT_EQ(r.binary.confusion.false_positives, 0U);
  EXPECT_EQ(r.binary.confusion.true_negatives, 1U);
  EXPECT_EQ(r.binary.confusion.false_negatives, 1U);
  EXPECT_NEAR(r.binary.f1.value, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.binary.mcc.value, 0.5, 1e-12);
  EXPECT_NEAR(r.binary.accuracy.value, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.probe_recall_1, 1.0);
  EXPECT_DOUBLE_EQ(r.probe_recall_k, 1.0);
  EXPECT_NEAR(r.model_recall_1, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.model_recall_k, 2.0 / 3.0, 1e-12);
  EXPECT_LE(r.binary.f1.ci95.lower, r.binary.f1.ci95.upper);
  // With k = 3 = K every label is in the probe's top k: no error is ever predicted.
  ErrorClassifierOptions all = c.options();
  all.k = 3;
  const ErrorClassificationResult everything = classify_errors(c.entity, c.directions, c.logp, c.gold, all);
  EXPECT_EQ(everything.predicted_wrong, (std::vector<bool>{false, false, false}));
  EXPECT_DOUBLE_EQ(everything.binary.f1.value, 0.0);
  EXPECT_DOUBLE_EQ(everything.model_recall_k, 1.0);
}

TEST(BiasClassification, CosineScoresByHand) {
  const HandCase c;
  ErrorClassifierOptions o = c.options();
  o.similarity = Similarity::Cosine;
  const ErrorClassificationResult r = classify_errors(c.entity, c.directions, c.logp, c.gold, o);
  const float s = 1.0F / std::sqrt(2.0F);
  EXPECT_TRUE(
      torch::allclose(r.scores, torch::tensor({1.0F, 0.0F, s, 1.0F, 1.0F, -1.0F, s, s, 1.0F}).view({3, 3})));
}

TEST(BiasClassification, NormalizationZScoresEntitiesOverRowsAndDirectionsOverAllPairs) {
  torch::manual_seed(5);
  const torch::Tensor h = torch::randn({5, 3}) * 3 + 2;
  const torch::Tensor d = torch::randn({5, 4, 3}) * 0.5 - 1;
  const torch::Tensor logp = torch::randn({5, 4});
  const std::vector<std::int64_t> gold{0, 1, 2, 3, 0};
  // By hand: column means and sample (N − 1) standard deviations.
  const auto z = [](const torch::Tensor& x) {
    const torch::Tensor x64 = x.to(torch::kFloat64);
    return ((x64 - x64.mean(0)) / x64.std(0, /*unbiased=*/true)).to(torch::kFloat32);
  };
  ErrorClassifierOptions normalized;
  ErrorClassifierOptions raw;
  raw.normalize = false;
  const ErrorClassificationResult a = classify_errors(h, d, logp, gold, normalized);
  const ErrorClassificationResult b =
      classify_errors(z(h), z(d.reshape({20, 3})).view({5, 4, 3}), logp, gold, raw);
  EXPECT_TRUE(torch::allclose(a.scores, b.scores, 1e-5, 1e-5));
  // Per-label z-scoring would differ: the directions are pooled over every (sample, label) pair.
  torch::Tensor per_label = torch::empty_like(d);
  for (std::int64_t k = 0; k < 4; ++k) per_label.select(1, k).copy_(z(d.select(1, k)));
  const ErrorClassificationResult p = classify_errors(z(h), per_label, logp, gold, raw);
  EXPECT_FALSE(torch::allclose(a.scores, p.scores, 1e-3, 1e-3));
}

TEST(BiasClassification, ControlTaskShufflesYTrueOnly) {
  torch::manual_seed(6);
  const torch::Tensor h = torch::randn({30, 4});
  const torch::Tensor d = torch::randn({30, 5, 4});
  const torch::Tensor logp = torch::randn({30, 5});
  std::vector<std::int64_t> gold;
  for (std::int64_t i = 0; i < 30; ++i) gold.push_back(i % 5);
  ErrorClassifierOptions plain;
  ErrorClassifierOptions control;
  control.shuffle_labels_seed = 123456;
  const ErrorClassificationResult a = classify_errors(h, d, logp, gold, plain);
  const ErrorClassificationResult b = classify_errors(h, d, logp, gold, control);
  std::vector<bool> expected = a.lm_wrong;
  data::PythonRandom(123456).shuffle(expected);
  EXPECT_EQ(b.lm_wrong, expected);
  EXPECT_NE(a.lm_wrong, b.lm_wrong);
  EXPECT_EQ(a.predicted_wrong, b.predicted_wrong);
  EXPECT_DOUBLE_EQ(a.model_recall_1, b.model_recall_1);  // recalls use the real labels
  EXPECT_DOUBLE_EQ(a.probe_recall_k, b.probe_recall_k);
}

TEST(BiasClassification, RejectsBadShapes) {
  const HandCase c;
  const auto o = c.options();
  EXPECT_THROW(classify_errors(c.entity, c.directions.slice(1, 0, 1), c.logp.slice(1, 0, 1), c.gold, o),
               std::invalid_argument);  // one label
  EXPECT_THROW(classify_errors(c.entity, c.directions.slice(0, 0, 2), c.logp, c.gold, o),
               std::invalid_argument);
  EXPECT_THROW(classify_errors(c.entity, c.directions, c.logp.slice(1, 0, 2), c.gold, o),
               std::invalid_argument);
  EXPECT_THROW(classify_errors(c.entity, c.directions, c.logp, {0, 1, 3}, o), std::invalid_argument);
  EXPECT_THROW(classify_errors(c.entity, c.directions, c.logp, {0, 1}, o), std::invalid_argument);
}

// Default model: the probe equals one-row forwards of prompt-in-context at the prompt's mention, and
// the identity editor's directions are the label contexts' attribute representations.
TEST(BiasClassification, ProbeAndDirectionsMatchDirectPasses) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  torch::NoGradGuard no_grad;
  const auto model = lm::CausalLM::load(path);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::vector<data::MediationSample> samples = {
      bio("0", "Svetlana", "She files the tax returns of small firms", "accountant"),
      bio("1", "Bartholomew", "He treats back pain with spinal adjustments", "chiropractor")};
  const std::vector<std::string> labels = {"accountant", "chiropractor", "nurse"};
  std::vector<std::int64_t> ids;
  for (const std::string& label : labels) ids.push_back(first_token_id(tokenizer, label, label));
  const std::vector<std::int64_t> layers{2, 5};
  const InContextProbe probe = probe_in_context(*model, tokenizer, samples, layers, ids, 2, false);
  ASSERT_EQ(probe.logp.sizes(), (std::vector<std::int64_t>{2, 3}));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    const std::string text = data::prompt_in_context(samples[i]);
    const tok::Encoding encoding = tokenizer.encode(text);
    const tok::TokenRange entity = tok::token_range(encoding.offsets, text, samples[i].entity, 1);
    lm::ForwardOptions options;
    options.capture_layers = layers;
    options.logits = lm::LogitsAt::Last;
    const lm::ForwardResult full =
        model->forward({torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()}, options);
    const torch::Tensor logp = torch::log_softmax(full.logits[0], -1);
    for (const std::int64_t layer : layers) {
      EXPECT_TRUE(
          torch::allclose(probe.entity.at(layer)[row], full.hidden.at(layer)[0][entity.end - 1], 1e-4, 1e-4));
    }
    for (std::size_t k = 0; k < labels.size(); ++k) {
      EXPECT_NEAR(probe.logp[row][static_cast<std::int64_t>(k)].item<double>(), logp[ids[k]].item<double>(),
                  1e-4);
    }
  }
  EditorConfig config;
  config.type = "identity";
  config.layer = 2;
  config.hidden_size = model->config().hidden_size;
  const std::shared_ptr<Editor> identity = make_editor(config, 0);
  const torch::Tensor directions =
      label_directions(*model, tokenizer, *identity, samples, labels, false, 2, false);
  ASSERT_EQ(directions.sizes(), (std::vector<std::int64_t>{2, 3, model->config().hidden_size}));
  PrecomputeOptions precompute;
  precompute.layer = 2;
  const LabelInputs averaged = label_inputs(*model, tokenizer, samples, labels, 2, false, false, 2, false);
  const LabelInputs last = label_inputs(*model, tokenizer, samples, labels, 2, true, false, 2, false);
  for (std::size_t k = 0; k < labels.size(); ++k) {
    std::vector<data::MediationSample> rewritten;
    for (const data::MediationSample& s : samples) rewritten.push_back(label_sample(s, labels[k], false));
    const EditorInputs inputs = precompute_editor_inputs(*model, tokenizer, rewritten, precompute);
    EXPECT_TRUE(torch::allclose(directions.select(1, static_cast<std::int64_t>(k)), inputs.attribute_average,
                                1e-5, 1e-5))
        << labels[k];
    // label_inputs (what eval bias-cls gathers over ranks) holds the same precompute, exactly: the
    // entity input the flag asks for and the attribute mean of every label's context.
    const auto column = static_cast<std::int64_t>(k);
    EXPECT_TRUE(torch::equal(averaged.entity.select(1, column), inputs.entity_average)) << labels[k];
    EXPECT_TRUE(torch::equal(averaged.attribute.select(1, column), inputs.attribute_average)) << labels[k];
    EXPECT_TRUE(torch::equal(last.entity.select(1, column), inputs.entity_last)) << labels[k];
    EXPECT_TRUE(torch::equal(last.attribute.select(1, column), inputs.attribute_average)) << labels[k];
  }
}

}  // namespace
}  // namespace remedi
