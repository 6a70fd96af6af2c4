// Factual-error classification (METHOD §8.8): the scores, labels and metrics of hand-computed vectors,
// the standardization, the control task's shuffle, and the entity probes of the default model
// against one-row forwards.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "data/derived.h"
#include "data/python_random.h"
#include "lm/model.h"
#include "remedi/classification.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"

namespace remedi {
namespace {

torch::Tensor rows(std::vector<float> values, std::int64_t width) {
  const auto n = static_cast<std::int64_t>(values.size()) / width;
  return torch::tensor(values).view({n, width});
}

// N = 4, H = 2, by hand: s_target = (1, 0, 1, -2), s_comparator = (0, 1, 2, 0), so the prediction
// "the LM is right" is (T, F, F, F); the log-probs make the LM right on rows 0 and 3. Positive class
// "wrong": truth (F, T, T, F), predicted (F, T, T, T): TP 2, FP 1, TN 1, FN 0.
struct HandCase {
  torch::Tensor entity = rows({1, 0, 0, 1, 1, 1, 2, 0}, 2);
  torch::Tensor target = rows({1, 0, 1, 0, 0, 1, -1, 0}, 2);
  torch::Tensor comparator = rows({0, 1, 0, 1, 1, 1, 0, 1}, 2);
  torch::Tensor target_logp = torch::tensor({-1.0F, -1.0F, -3.0F, -0.5F});
  torch::Tensor comparator_logp = torch::tensor({-2.0F, -0.5F, -1.0F, -2.0F});
};

TEST(Classification, DotScoresLabelsAndMetricsByHand) {
  const HandCase c;
  ClassifierOptions options;
  options.normalize = false;
  const ClassificationResult r =
      classify(c.entity, c.target, c.comparator, c.target_logp, c.comparator_logp, options);
  EXPECT_TRUE(torch::equal(r.score_target, torch::tensor({1.0F, 0.0F, 1.0F, -2.0F})));
  EXPECT_TRUE(torch::equal(r.score_comparator, torch::tensor({0.0F, 1.0F, 2.0F, 0.0F})));
  EXPECT_EQ(r.lm_right, (std::vector<bool>{true, false, false, true}));
  EXPECT_EQ(r.predicted_right, (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(r.confusion.true_positives, 2U);
  EXPECT_EQ(r.confusion.false_positives, 1U);
  EXPECT_EQ(r.confusion.true_negatives, 1U);
  EXPECT_EQ(r.confusion.false_negatives, 0U);
  EXPECT_DOUBLE_EQ(r.accuracy.value, 0.75);
  EXPECT_DOUBLE_EQ(r.f1.value, 0.8);                       // 2·2 / (2·2 + 1 + 0)
  EXPECT_NEAR(r.mcc.value, 2.0 / std::sqrt(12.0), 1e-12);  // (2·1 − 1·0) / √(3·2·2·1)
  EXPECT_GE(r.accuracy.ci95.lower, 0.0);
  EXPECT_LE(r.accuracy.ci95.upper, 1.0);
  EXPECT_LE(r.accuracy.ci95.lower, r.accuracy.ci95.upper);
}

TEST(Classification, CosineScoresByHand) {
  const HandCase c;
  ClassifierOptions options;
  options.normalize = false;
  options.similarity = Similarity::Cosine;
  const ClassificationResult r =
      classify(c.entity, c.target, c.comparator, c.target_logp, c.comparator_logp, options);
  EXPECT_TRUE(torch::allclose(r.score_target, torch::tensor({1.0F, 0.0F, 1.0F / std::sqrt(2.0F), -1.0F})));
  EXPECT_TRUE(torch::allclose(r.score_comparator, torch::tensor({0.0F, 1.0F, 1.0F, 0.0F})));
}

TEST(Classification, StandardizeUsesTheSampleStdAndZeroesFlatDimensions) {
  // column 0: mean 3, sample std 2; column 1 constant
  const torch::Tensor z = standardize(rows({1, 2, 3, 2, 5, 2}, 2));
  EXPECT_TRUE(torch::allclose(z, rows({-1, 0, 0, 0, 1, 0}, 2)));
  EXPECT_THROW(standardize(rows({1, 2}, 2)), std::invalid_argument);
}

TEST(Classification, NormalizationStandardizesEachSetSeparately) {
  torch::manual_seed(3);
  const torch::Tensor h = torch::randn({6, 3}) * 4 + 1;
  const torch::Tensor t = torch::randn({6, 3}) * 0.1;
  const torch::Tensor c = torch::randn({6, 3}) - 2;
  const torch::Tensor lt = torch::randn({6});
  const torch::Tensor lc = torch::randn({6});
  // Standardized by hand: (x − column mean) / column std with N − 1.
  const auto by_hand = [](const torch::Tensor& x) {
    torch::Tensor out = torch::empty_like(x);
    for (std::int64_t j = 0; j < x.size(1); ++j) {
      double mean = 0;
      for (std::int64_t i = 0; i < x.size(0); ++i) mean += x[i][j].item<double>();
      mean /= static_cast<double>(x.size(0));
      double squares = 0;
      for (std::int64_t i = 0; i < x.size(0); ++i) squares += std::pow(x[i][j].item<double>() - mean, 2);
      const double sd = std::sqrt(squares / static_cast<double>(x.size(0) - 1));
      for (std::int64_t i = 0; i < x.size(0); ++i) out[i][j] = (x[i][j].item<double>() - mean) / sd;
    }
    return out;
  };
  ClassifierOptions normalized;
  ClassifierOptions raw;
  raw.normalize = false;
  const ClassificationResult a = classify(h, t, c, lt, lc, normalized);
  const ClassificationResult b = classify(by_hand(h), by_hand(t), by_hand(c), lt, lc, raw);
  EXPECT_TRUE(torch::allclose(a.score_target, b.score_target, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.score_comparator, b.score_comparator, 1e-5, 1e-5));
}

TEST(Classification, ControlTaskShufflesTheLabelsKeepingTheBalance) {
  torch::manual_seed(4);
  const torch::Tensor h = torch::randn({40, 4});
  const torch::Tensor t = torch::randn({40, 4});
  const torch::Tensor c = torch::randn({40, 4});
  const torch::Tensor lt = torch::randn({40});
  const torch::Tensor lc = torch::randn({40});
  ClassifierOptions plain;
  ClassifierOptions control;
  control.shuffle_labels_seed = 123456;
  const ClassificationResult a = classify(h, t, c, lt, lc, plain);
  const ClassificationResult b = classify(h, t, c, lt, lc, control);
  EXPECT_EQ(std::count(a.lm_right.begin(), a.lm_right.end(), true),
            std::count(b.lm_right.begin(), b.lm_right.end(), true));
  EXPECT_NE(a.lm_right, b.lm_right);
  EXPECT_EQ(a.predicted_right, b.predicted_right);  // only the labels move
  std::vector<bool> expected = a.lm_right;
  data::PythonRandom(123456).shuffle(expected);  // random.shuffle(labels) after random.seed(123456)
  EXPECT_EQ(b.lm_right, expected);
}

TEST(Classification, RejectsMismatchedShapes) {
  const HandCase c;
  EXPECT_THROW(
      classify(c.entity, c.target.slice(0, 0, 3), c.comparator, c.target_logp, c.comparator_logp, {}),
      std::invalid_argument);
  EXPECT_THROW(
      classify(c.entity, c.target, c.comparator, c.target_logp.slice(0, 0, 2), c.comparator_logp, {}),
      std::invalid_argument);
}

// The entity probes of a batch equal one-row forwards at the located tokens (default model).
TEST(Classification, EntityProbesMatchOneRowForwards) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  torch::NoGradGuard no_grad;
  const auto model = lm::CausalLM::load(path);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  std::vector<data::MediationSample> samples(2);
  samples[0].id = "0";
  samples[0].entity = "Danielle Darrieux";
  samples[0].context = "The mother tongue of Danielle Darrieux is English";
  samples[0].attribute = "is English";
  samples[0].prompt = "Danielle Darrieux was born in a country whose language is";
  samples[0].target_mediated = "English";
  samples[0].target_unmediated = "French";
  samples[1].id = "1";
  samples[1].entity = "Toko Yasuda";
  samples[1].context = "Toko Yasuda, the piano";
  samples[1].attribute = "the piano";
  samples[1].prompt = "Toko Yasuda plays the";
  samples[1].target_mediated = "piano";
  samples[1].target_unmediated = "guitar";
  const std::vector<std::int64_t> layers{2, 7};
  const EntityProbes probes = probe_entities(*model, tokenizer, samples, layers, 2, false);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    const data::MediationSample& s = samples[i];
    const std::string texts[] = {data::prompt_in_context(s), s.prompt};
    for (int which = 0; which < 2; ++which) {
      const tok::Encoding encoding = tokenizer.encode(texts[which]);
      const tok::TokenRange entity =
          tok::token_range(encoding.offsets, texts[which], s.entity, which == 0 ? 1 : 0);
      lm::ForwardOptions options;
      options.capture_layers = layers;
      options.logits = lm::LogitsAt::Last;
      const lm::ForwardResult full =
          model->forward({torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()}, options);
      const torch::Tensor logp = torch::log_softmax(full.logits[0], -1);
      const std::int64_t new_id = tokenizer.encode(" " + s.target_mediated).ids.front();
      const std::int64_t true_id = tokenizer.encode(" " + *s.target_unmediated).ids.front();
      for (const std::int64_t layer : layers) {
        const torch::Tensor expected = full.hidden.at(layer)[0][entity.end - 1];
        const torch::Tensor& got =
            which == 0 ? probes.in_context.at(layer)[row] : probes.in_prompt.at(layer)[row];
        EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-4)) << i << " " << which << " " << layer;
      }
      const torch::Tensor& new_logp = which == 0 ? probes.in_context_new_logp : probes.in_prompt_new_logp;
      const torch::Tensor& true_logp = which == 0 ? probes.in_context_true_logp : probes.in_prompt_true_logp;
      EXPECT_NEAR(new_logp[row].item<double>(), logp[new_id].item<double>(), 1e-4);
      EXPECT_NEAR(true_logp[row].item<double>(), logp[true_id].item<double>(), 1e-4);
    }
  }
}

}  // namespace
}  // namespace remedi
