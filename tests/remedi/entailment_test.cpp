// McRae entailment (METHOD §8.11) with hand-computed numbers: flattening and the prefix prompts, where the
// target is scored (suffix vs the original's first occurrence, METHOD Q8), the zero-probability drop rule
// (Q31), per-sample Pearson r and Δp, skipped samples (METHOD Q23), and target log-probabilities that equal a
// plain forward on the tiny Llama fixture, with and without an edit at the entity's last token.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "io/expect_error.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/entailment.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tok/tokenizer.h"

namespace remedi {
namespace {

data::Json feature(const std::string& fluent, const std::string& prompt, const std::string& target,
                   const char* prob_key = nullptr, const std::string& prob = "") {
  data::Json f = {{"feature", fluent}, {"feature_fluent", fluent}, {"prompt", prompt}, {"target", target}};
  if (prob_key != nullptr) f[prob_key] = prob;
  return f;
}

data::MediationSample cat_sample() {
  data::MediationSample s;
  s.id = "cat/is_black/has_fur";
  s.entity = "cat";
  s.context = "A cat is black.";
  s.attribute = "is black";
  s.prompt = "A cat has";
  s.target_mediated = "fur";
  s.source = {{"all_co_features",
               {feature("has fur", "A cat has", "fur", "co_prob", "0.40"),
                feature("is dark", "A cat is", "dark", "co_prob", "0.00")}},
              {"original_features", {feature("is a pet", "A cat is a", "pet", "prob", "0.80")}},
              {"unrelated_features", {feature("has wheels", "A cat has", "wheels")}}};
  return s;
}

TEST(Entailment, FlattensFeaturesInKindOrderAndPrefixesCoAndOrig) {
  const std::vector<data::MediationSample> samples{cat_sample()};
  const std::vector<FeatureRow> plain = flatten_features(samples, false, "f.tsv");
  ASSERT_EQ(plain.size(), 4U);
  EXPECT_EQ(plain[0].kind, FeatureKind::Co);
  EXPECT_EQ(plain[1].prob, "0.00");
  EXPECT_EQ(plain[2].kind, FeatureKind::Orig);
  EXPECT_EQ(plain[2].prob, "0.80");
  EXPECT_EQ(plain[3].kind, FeatureKind::Unrel);
  EXPECT_EQ(plain[3].prob, "");
  EXPECT_EQ(feature_sequence(plain[0]), "A cat has fur");
  const std::vector<FeatureRow> prefixed = flatten_features(samples, true, "f.tsv");
  // METHOD §3.7: the context's own period collapsed, one space, then the prompt.
  EXPECT_EQ(prefixed[0].prompt, "A cat is black. A cat has");
  EXPECT_EQ(prefixed[2].prompt, "A cat is black. A cat is a");
  EXPECT_EQ(prefixed[3].prompt, "A cat has");  // unrelated prompts unchanged

  data::MediationSample broken = cat_sample();
  broken.source.erase("original_features");
  test::expect_error([&] { flatten_features({broken}, false, "f.tsv"); }, "f.tsv",
                     "sample cat/is_black/has_fur source.original_features",
                     "missing or not a list (not McRae data?)");
  broken = cat_sample();
  broken.source["all_co_features"][1].erase("target");
  test::expect_error([&] { flatten_features({broken}, false, "f.tsv"); }, "f.tsv",
                     "sample cat/is_black/has_fur source.all_co_features[1].target",
                     "missing or not a string (not McRae data?)");
}

TEST(Entailment, TargetIsTheSuffixUnlessFaithful) {
  // "cat" first occurs at code points [2, 5); the target ends the sequence at [13, 16).
  EXPECT_EQ(target_span("A cat eats a cat", "cat", false), (tok::CharSpan{13, 16}));
  EXPECT_EQ(target_span("A cat eats a cat", "cat", true), (tok::CharSpan{2, 5}));
  // Code points, not bytes: "é" is two bytes.
  EXPECT_EQ(target_span("Un café é", "é", false), (tok::CharSpan{8, 9}));
  EXPECT_EQ(target_span("Un café é", "é", true), (tok::CharSpan{6, 7}));
  // GPT-2-style offsets (a token carries its leading space): A | _cat | _eats | _a | _cat
  const std::vector<tok::Offset> offsets{{0, 1}, {1, 5}, {5, 10}, {10, 12}, {12, 16}};
  EXPECT_EQ(target_token_range(offsets, "A cat eats a cat", "cat", false, "row"), (tok::TokenRange{4, 5}));
  EXPECT_EQ(target_token_range(offsets, "A cat eats a cat", "cat", true, "row"), (tok::TokenRange{1, 2}));
  EXPECT_EQ(target_token_range(offsets, "A cat eats a cat", "eats a cat", false, "row"),
            (tok::TokenRange{2, 5}));
  // Nothing before the target predicts its first token.
  test::expect_error_containing(
      [&] { target_token_range(offsets, "A cat eats a cat", "A cat eats a cat", false, "row"); }, "<data>",
      "row target", "nothing predicts it");
}

TEST(Entailment, ReferenceLogProbabilityDropsZero) {
  EXPECT_FALSE(reference_logp("0.00", "p").has_value());
  EXPECT_DOUBLE_EQ(*reference_logp("0.25", "p"), std::log(0.25));
  EXPECT_DOUBLE_EQ(*reference_logp("1.00", "p"), 0.0);
  for (const char* bad : {"", "abc", "0.5x", "1.5", "-0.1", "nan"}) {
    test::expect_error([&] { reference_logp(bad, "p"); }, "<data>", "p",
                       "\"" + std::string(bad) + "\" is not a probability");
  }
}

// Rows of two samples with hand-picked scores.
//   sample 0: co "0.80" "0.40" "0.20" "0.10" (ln spaced by -ln 2) and "0.00" (dropped); orig "0.50" and
//             "0.00" (one usable: no correlation); two unrelated features.
//   sample 1: co "0.80" "0.40"; orig "0.50"; no unrelated feature.
std::vector<FeatureRow> hand_rows() {
  std::vector<FeatureRow> rows;
  const auto add = [&](std::size_t sample, FeatureKind kind, const std::string& prob) {
    FeatureRow row;
    row.sample = sample;
    row.kind = kind;
    row.feature = "f" + std::to_string(rows.size());
    row.prob = prob;
    rows.push_back(row);
  };
  for (const char* p : {"0.80", "0.40", "0.20", "0.10", "0.00"}) add(0, FeatureKind::Co, p);
  add(0, FeatureKind::Orig, "0.50");
  add(0, FeatureKind::Orig, "0.00");
  add(0, FeatureKind::Unrel, "");
  add(0, FeatureKind::Unrel, "");
  add(1, FeatureKind::Co, "0.80");
  add(1, FeatureKind::Co, "0.40");
  add(1, FeatureKind::Orig, "0.50");
  return rows;
}

TEST(Entailment, PerSampleCorrelationsDeltasAndSkips) {
  const std::vector<FeatureRow> rows = hand_rows();
  const double l = std::log(0.1);
  // Sample 0's co pre [1, 3, 2, 4] against references spaced -ln 2 apart: Pearson of [1, 3, 2, 4]
  // and [0, 1, 2, 3] is 4 / sqrt(5 · 5) = 0.8, negated by the decreasing references: -0.8. Post
  // [4, 2, 3, 1]: +0.8. The dropped co feature (-50 / +50) would change both if it were used.
  const std::vector<double> pre{
      1, 3, 2, 4, -50, l, l, std::log(0.2), std::log(0.3), std::log(0.2), std::log(0.4), std::log(0.5)};
  const std::vector<double> post{
      4, 2, 3, 1, 50, l, l, std::log(0.5), std::log(0.1), std::log(0.5), std::log(0.6), std::log(0.25)};
  const std::vector<SampleEntailment> s = group_features(2, rows, pre, &post, nullptr);
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].co.size(), 4U);
  EXPECT_EQ(s[0].orig.size(), 1U);
  EXPECT_EQ(s[0].unrel.size(), 2U);
  ASSERT_EQ(s[0].dropped.size(), 2U);
  EXPECT_EQ(s[0].dropped[0].row.prob, "0.00");
  EXPECT_FALSE(s[0].dropped[0].logp_ref.has_value());
  EXPECT_DOUBLE_EQ(*s[0].co[1].logp_ref, std::log(0.4));
  EXPECT_NEAR(*s[0].co_corr_pre, -0.8, 1e-12);
  EXPECT_NEAR(*s[0].co_corr_post, 0.8, 1e-12);
  EXPECT_FALSE(s[0].orig_corr_pre.has_value());  // one usable original feature (METHOD Q23)
  EXPECT_FALSE(s[0].orig_corr_post.has_value());
  // Unrelated Δp: mean of (0.5 - 0.2) and (0.1 - 0.3) = 0.05.
  EXPECT_NEAR(*s[0].unrel_delta_prob, 0.05, 1e-12);
  EXPECT_NEAR(*s[0].orig_delta_prob, 0.0, 1e-12);  // exp(l) - exp(l); the dropped one is not counted
  // Sample 1: co pre/post increase while the references decrease: r = -1 both; Δp co = mean(0.3, 0.2).
  EXPECT_NEAR(*s[1].co_corr_pre, -1.0, 1e-12);
  EXPECT_NEAR(*s[1].co_corr_post, -1.0, 1e-12);
  EXPECT_NEAR(*s[1].co_delta_prob, 0.25, 1e-12);
  EXPECT_NEAR(*s[1].orig_delta_prob, -0.25, 1e-12);
  EXPECT_FALSE(s[1].unrel_delta_prob.has_value());  // no unrelated feature
  EXPECT_NEAR(*s[1].co[0].delta_prob, 0.3, 1e-12);

  const EntailmentMetrics m = entailment_metrics(s, true, true);
  ASSERT_TRUE(m.co_corr_pre && m.co_corr_pre->aggregate);
  EXPECT_NEAR(m.co_corr_pre->aggregate->mean, -0.9, 1e-12);
  EXPECT_NEAR(m.co_corr_pre->aggregate->std, 0.1, 1e-12);  // population std
  EXPECT_EQ(m.co_corr_pre->aggregate->values.size(), 2U);  // kept for confidence intervals
  EXPECT_EQ(m.co_corr_pre->skipped, 0U);
  EXPECT_NEAR(m.co_corr_post->aggregate->mean, -0.1, 1e-12);
  ASSERT_TRUE(m.orig_corr_pre.has_value());
  EXPECT_FALSE(m.orig_corr_pre->aggregate.has_value());  // every sample skipped
  EXPECT_EQ(m.orig_corr_pre->skipped, 2U);
  EXPECT_EQ(m.unrel_delta_prob->skipped, 1U);
  EXPECT_NEAR(m.unrel_delta_prob->aggregate->mean, 0.05, 1e-12);
  EXPECT_NEAR(m.co_delta_prob->aggregate->mean, (s[0].co_delta_prob.value() + 0.25) / 2.0, 1e-12);

  // Without an editor run there is no post correlation and no Δp.
  const EntailmentMetrics unedited =
      entailment_metrics(group_features(2, rows, pre, nullptr, nullptr), false, false);
  EXPECT_FALSE(unedited.co_corr_post.has_value());
  EXPECT_FALSE(unedited.co_delta_prob.has_value());
  EXPECT_NEAR(unedited.co_corr_pre->aggregate->mean, -0.9, 1e-12);
}

TEST(Entailment, PrefixDeltaIsAgainstThePlainPrompt) {
  const std::vector<FeatureRow> rows = hand_rows();
  std::vector<double> pre(rows.size(), std::log(0.5));
  std::vector<double> plain(rows.size(), std::log(0.2));
  const std::vector<SampleEntailment> s = group_features(2, rows, pre, nullptr, &plain);
  EXPECT_FALSE(s[0].co_corr_post.has_value());
  EXPECT_FALSE(s[0].co[0].logp_post.has_value());
  EXPECT_DOUBLE_EQ(*s[0].co[0].logp_no_context, std::log(0.2));
  EXPECT_NEAR(*s[1].co_delta_prob, 0.3, 1e-12);
  EXPECT_FALSE(s[0].co_corr_pre.has_value());  // constant scores: undefined (METHOD Q23)
  const EntailmentMetrics m = entailment_metrics(s, false, true);
  EXPECT_EQ(m.co_corr_pre->skipped, 2U);
  EXPECT_NEAR(m.orig_delta_prob->aggregate->mean, 0.3, 1e-12);
}

// Scores equal a plain full forward of each sequence on the tiny Llama fixture (vocab 300: targets
// span several tokens), unedited and with the direction added at the entity's last token.
TEST(Entailment, ScoresEqualAFullForward) {
  const std::string path = test::fixture("lm/llama_gqa/model.gguf");
  const std::unique_ptr<lm::CausalLM> model = lm::CausalLM::load(path);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  data::MediationSample dog = cat_sample();
  dog.entity = "dog";
  dog.context = "A dog is loud.";
  dog.attribute = "is loud";
  dog.source["all_co_features"] = {feature("barks", "A dog", "barks", "co_prob", "0.50"),
                                   feature("has fur", "A cat and a dog have", "fur", "co_prob", "0.30")};
  dog.source["original_features"] = data::Json::array();
  dog.source["unrelated_features"] = {feature("has wheels", "A dog has", "wheels")};
  data::MediationSample white_cat = cat_sample();  // the same sequences as the first, another context
  white_cat.context = "A cat is white.";
  white_cat.attribute = "is white";
  const std::vector<data::MediationSample> samples{cat_sample(), dog, white_cat};
  const std::vector<FeatureRow> rows = flatten_features(samples, false, "f");
  const auto hidden = model->config().hidden_size;
  torch::manual_seed(7);
  EditorInputs inputs{torch::randn({3, hidden}), torch::randn({3, hidden}), torch::randn({3, hidden}),
                      torch::randn({3, hidden})};
  EditorConfig config;
  config.type = "identity";
  config.layer = 1;
  config.hidden_size = hidden;
  const std::shared_ptr<Editor> editor = make_editor(config, 0);
  TargetScoringOptions options;
  options.batch_size = 3;  // batches mix rows of both samples and of different lengths
  const std::vector<double> pre =
      score_feature_targets(*model, tokenizer, nullptr, nullptr, samples, rows, options);
  const std::vector<double> post =
      score_feature_targets(*model, tokenizer, editor.get(), &inputs, samples, rows, options);
  ASSERT_EQ(pre.size(), rows.size());
  ASSERT_EQ(rows.size(), 11U);
  for (std::size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(pre[r], pre[7 + r]);    // the same sequence is scored once by the unedited LM
    EXPECT_NE(post[r], post[7 + r]);  // but edited with each sample's own direction
  }
  std::int64_t longest_target = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::string text = feature_sequence(rows[r]);
    const tok::Encoding encoding = tokenizer.encode(text);
    const tok::TokenRange target = target_token_range(encoding.offsets, text, rows[r].target, false, "r");
    const tok::TokenRange entity = tok::token_range(encoding.offsets, text, rows[r].entity);
    const torch::Tensor ids = torch::tensor(encoding.ids).unsqueeze(0);
    const auto expected = [&](bool edited) {
      lm::ForwardOptions forward;
      if (edited) {
        forward.interventions.push_back(
            {1, inputs.attribute_average[static_cast<std::int64_t>(rows[r].sample)].unsqueeze(0),
             torch::tensor({entity.end - 1, entity.end}, torch::kInt64).unsqueeze(0)});
      }
      const torch::Tensor logp =
          torch::log_softmax(model->forward({ids, torch::Tensor()}, forward).logits[0], -1);
      double sum = 0.0;
      for (std::int64_t t = target.begin; t < target.end; ++t)
        sum += logp[t - 1][encoding.ids[static_cast<std::size_t>(t)]].item<double>();
      return sum;
    };
    longest_target = std::max(longest_target, target.end - target.begin);
    EXPECT_NEAR(pre[r], expected(false), 1e-4) << text;
    EXPECT_NEAR(post[r], expected(true), 1e-4) << text;
    EXPECT_GT(std::abs(post[r] - pre[r]), 1e-4) << text;  // the edit reaches the target
  }
  EXPECT_GT(longest_target, 1);  // multi-token targets are summed
}

}  // namespace
}  // namespace remedi
