// evaluate::entailment (METHOD §8.11) on the tiny GPT-2 fixture and the synthetic McRae table, with the
// identity editor and the prefix baseline: every unedited feature score is the sum of its target
// tokens' log-probs in a plain forward, the per-sample correlations are Pearson's r of the records'
// scores with the norms, the metrics their means; finished_entailment reports a run only once it has
// every result, without a model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "eval/results_layout.h"
#include "evaluate/entailment.h"
#include "evaluate/forward_checks.h"
#include "io/expect_error.h"
#include "test_support.h"

namespace remedi {
namespace {

evaluate::EntailmentOptions tiny_options(const std::string& folder) {
  evaluate::EntailmentOptions o;
  test::tiny_run(o, "en", folder, {1}, test::fixture("data/mcrae_synthetic.tsv"), 5);
  o.data.split = "train[:4]";
  return o;
}

// log p(target | prompt) of "<prompt> <target>": the sum over the target's tokens (the sequence's
// suffix) of each token's log-prob after the ones before it.
double target_logp(const lm::LoadedModel& model, const std::string& prompt, const std::string& target) {
  const std::string text = prompt + " " + target;
  const tok::Encoding encoding = model.tok().encode(text);
  // ASCII: code points are bytes.
  const auto start = static_cast<std::int64_t>(prompt.size() + 1);
  const tok::TokenRange range =
      tok::token_range_for_span(encoding.offsets, {start, static_cast<std::int64_t>(text.size())});
  torch::NoGradGuard no_grad;
  const torch::Tensor logits =
      model.lm()
          .forward({torch::tensor(encoding.ids, torch::kInt64).unsqueeze(0), torch::Tensor()})
          .logits[0];
  const torch::Tensor logp = torch::log_softmax(logits.to(torch::kFloat32), -1);
  double sum = 0.0;
  for (std::int64_t t = range.begin; t < range.end; ++t)
    sum += logp[t - 1][encoding.ids[static_cast<std::size_t>(t)]].item<double>();
  return sum;
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2) return std::nullopt;
  const auto n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::nullopt;
  return sxy / std::sqrt(sxx * syy);
}

TEST(EntailmentEvaluation, ScoresAreTargetLogProbsAndCorrelationsFollowFromThem) {
  const std::string folder = test::temp_dir("evaluate_entailment");
  const evaluate::EntailmentOptions options = tiny_options(folder);
  const lm::LoadedModel& model = test::tiny_gpt2();
  EXPECT_FALSE(evaluate::finished_entailment(options).has_value());
  const evaluate::EntailmentResults results = evaluate::entailment(model, options);
  EXPECT_TRUE(results.computed);
  EXPECT_TRUE(results.synthetic);
  EXPECT_EQ(results.samples, 4U);
  const std::string out = folder + "/en/identity/1";
  const nlohmann::json records = test::read_json(eval::records_file(out, "entailment"));
  const nlohmann::json metrics = test::read_json(eval::metrics_file(out, "entailment"));
  EXPECT_EQ(results.layers["1"], metrics);
  ASSERT_EQ(records.size(), 4U);
  std::vector<double> co_pre;  // per sample with a defined correlation
  std::vector<double> co_post;
  std::size_t scored = 0;
  for (const nlohmann::json& record : records) {
    std::vector<double> ref, pre, post;
    for (const nlohmann::json& f : record["co_features"]) {
      const double expected =
          target_logp(model, f["prompt"].get<std::string>(), f["target"].get<std::string>());
      EXPECT_NEAR(f["logp_pre"].get<double>(), expected, 1e-4) << f["feature"];
      EXPECT_DOUBLE_EQ(f["logp_ref"].get<double>(), std::log(std::stod(f["co_prob"].get<std::string>())));
      EXPECT_NEAR(f["delta_prob"].get<double>(),
                  std::exp(f["logp_post"].get<double>()) - std::exp(f["logp_pre"].get<double>()), 1e-12);
      ref.push_back(f["logp_ref"].get<double>());
      pre.push_back(f["logp_pre"].get<double>());
      post.push_back(f["logp_post"].get<double>());
      ++scored;
    }
    for (const nlohmann::json& f : record["unrel_features"]) {
      EXPECT_NEAR(f["logp_pre"].get<double>(),
                  target_logp(model, f["prompt"].get<std::string>(), f["target"].get<std::string>()), 1e-4);
      ++scored;
    }
    const std::optional<double> r_pre = pearson(pre, ref);
    const std::optional<double> r_post = pearson(post, ref);
    ASSERT_EQ(record["co_corr_pre"].is_null(), !r_pre.has_value());
    if (r_pre) {
      EXPECT_NEAR(record["co_corr_pre"].get<double>(), *r_pre, 1e-9);
      co_pre.push_back(*r_pre);
    }
    if (r_post) {
      EXPECT_NEAR(record["co_corr_post"].get<double>(), *r_post, 1e-9);
      co_post.push_back(*r_post);
    }
  }
  EXPECT_GT(scored, 8U);
  ASSERT_FALSE(co_pre.empty());
  double mean_pre = 0;
  for (const double r : co_pre) mean_pre += r / static_cast<double>(co_pre.size());
  EXPECT_NEAR(metrics["co_corr_pre"]["mean"].get<double>(), mean_pre, 1e-9);
  EXPECT_EQ(metrics["skipped_samples"]["co_corr_pre"], 4 - co_pre.size());

  // The prefix baseline: its no-context scores are the editor run's unedited ones.
  evaluate::EntailmentOptions prefix = options;
  prefix.baseline = "prefix";
  prefix.layers.clear();
  const evaluate::EntailmentResults baseline = evaluate::entailment(model, prefix);
  const nlohmann::json prefixed = test::read_json(eval::records_file(folder + "/en/prefix", "entailment"));
  EXPECT_EQ(baseline.metrics, test::read_json(eval::metrics_file(folder + "/en/prefix", "entailment")));
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (std::size_t k = 0; k < records[i]["co_features"].size(); ++k) {
      const nlohmann::json& f = prefixed[i]["co_features"][k];
      EXPECT_EQ(f["prompt"].get<std::string>(),
                records[i]["context"].get<std::string>() + " " +
                    records[i]["co_features"][k]["prompt"].get<std::string>());
      EXPECT_NEAR(f["logp_no_context"].get<double>(), records[i]["co_features"][k]["logp_pre"].get<double>(),
                  1e-4);
      EXPECT_NEAR(f["logp_pre"].get<double>(),
                  target_logp(model, f["prompt"].get<std::string>(), f["target"].get<std::string>()), 1e-4);
    }
  }

  // Both runs are finished now: reported from their files, without a model.
  const std::optional<evaluate::EntailmentResults> done = evaluate::finished_entailment(options);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->computed);
  EXPECT_EQ(done->layers["1"]["skipped_existing"], true);
  EXPECT_EQ(done->layers["1"]["co_corr_pre"], metrics["co_corr_pre"]);
  const std::optional<evaluate::EntailmentResults> done_prefix = evaluate::finished_entailment(prefix);
  ASSERT_TRUE(done_prefix.has_value());
  EXPECT_EQ(done_prefix->summary("identity")["baseline"], "prefix");
  EXPECT_FALSE(done_prefix->summary("identity").contains("layers"));
  std::filesystem::remove_all(folder);
}

TEST(EntailmentEvaluation, BadOptionsNameTheirFlag) {
  const std::string folder = test::temp_dir("evaluate_entailment_bad");
  evaluate::EntailmentOptions options = tiny_options(folder);
  options.baseline = "replace";
  test::expect_error_containing([&] { evaluate::finished_entailment(options); }, "<argument>", "--baseline",
                                "'replace' is not available for entailment");
  options.baseline = "prefix";  // with layers
  test::expect_error_containing([&] { evaluate::entailment(test::tiny_gpt2(), options); }, "<argument>",
                                "--baseline", "--layers and --editors-dir must be absent");
  options = tiny_options(folder);
  options.data.file.clear();
  const char* was = std::getenv("REMEDI_DATA");
  const std::string previous = was != nullptr ? was : "";
  setenv("REMEDI_DATA", folder.c_str(), 1);  // a data folder without the McRae norms
  test::expect_error_containing([&] { evaluate::entailment_dataset_file(options); },
                                folder + "/mcrae/CONCS_FEATS_concstats_brm.txt", "",
                                "missing: put the McRae norms");
  if (was != nullptr) {
    setenv("REMEDI_DATA", previous.c_str(), 1);
  } else {
    unsetenv("REMEDI_DATA");
  }
  EXPECT_FALSE(std::filesystem::exists(folder + "/en"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
