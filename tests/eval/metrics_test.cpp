#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

namespace remedi::eval {
namespace {

// Expected values marked "reference" were printed by tests/reference/make_metric_vectors.py
// (scikit-learn 1.9.1, scipy 1.17.1, numpy 2.4.6); the others are the test vectors of METHOD §12.

TEST(Aggregate, SpecVectorsUsePopulationStd) {
  const Aggregate three = aggregate({1, 2, 3});
  EXPECT_DOUBLE_EQ(three.mean, 2.0);
  EXPECT_NEAR(three.std, 0.8164966, 1e-7);
  EXPECT_DOUBLE_EQ(three.std, 0.81649658092772603);  // reference: np.std([1, 2, 3])
  EXPECT_TRUE(three.values.empty());
  const Aggregate one = aggregate({1}, /*keep_values=*/true);
  EXPECT_DOUBLE_EQ(one.mean, 1.0);
  EXPECT_DOUBLE_EQ(one.std, 0.0);
  EXPECT_EQ(one.values, std::vector<double>{1});
  EXPECT_THROW(aggregate({}), std::invalid_argument);
}

TEST(Efficacy, SpecVectors) {
  const EfficacyMetrics single = efficacy({{1}}, {{0.5}}, ProbabilityScale::kProbability);
  EXPECT_DOUBLE_EQ(single.score.mean, 1.0);
  EXPECT_DOUBLE_EQ(single.magnitude.mean, 0.5);
  const EfficacyMetrics two =
      efficacy({{0, 1}, {0.5, 0.75, 1}}, {{0.5, 0.5}, {0.5, 0.75, 1}}, ProbabilityScale::kProbability);
  EXPECT_DOUBLE_EQ(two.score.mean, 0.25);
  EXPECT_DOUBLE_EQ(two.magnitude.mean, 0.0);
  EXPECT_DOUBLE_EQ(two.score.std, 0.25);  // per-sample scores 0.5 and 0
}

TEST(Efficacy, LogProbabilitiesAreExponentiated) {
  // p = 0.5 vs 0.25 and 0.1 vs 0.3: indicators 1, 0; differences 0.25, -0.2.
  const EfficacyMetrics m = efficacy({{std::log(0.5), std::log(0.1)}}, {{std::log(0.25), std::log(0.3)}},
                                     ProbabilityScale::kLogProbability);
  EXPECT_DOUBLE_EQ(m.score.mean, 0.5);
  EXPECT_NEAR(m.magnitude.mean, 0.025, 1e-15);
}

TEST(Efficacy, RejectsMismatchedShapes) {
  EXPECT_THROW(efficacy({{1}}, {}, ProbabilityScale::kProbability), std::invalid_argument);
  EXPECT_THROW(efficacy({{1, 2}}, {{1}}, ProbabilityScale::kProbability), std::invalid_argument);
  EXPECT_THROW(efficacy({{}}, {{}}, ProbabilityScale::kProbability), std::invalid_argument);
}

TEST(Classification, MatchesScikitLearn) {
  const std::vector<bool> truth = {true,  true, true,  false, false, false,
                                   false, true, false, true,  true,  false};
  const std::vector<bool> predicted = {true,  false, true, false, true,  false,
                                       false, true,  true, true,  false, true};
  const BinaryConfusion c = confusion(truth, predicted);
  EXPECT_EQ(c.true_positives, 4U);
  EXPECT_EQ(c.false_negatives, 2U);
  EXPECT_EQ(c.false_positives, 3U);
  EXPECT_EQ(c.true_negatives, 3U);
  // reference: accuracy_score, precision_score, recall_score, f1_score, matthews_corrcoef
  EXPECT_DOUBLE_EQ(accuracy(c), 0.58333333333333337);
  EXPECT_DOUBLE_EQ(precision(c), 0.5714285714285714);
  EXPECT_DOUBLE_EQ(recall(c), 0.66666666666666663);
  EXPECT_DOUBLE_EQ(f1(c), 0.61538461538461542);
  EXPECT_NEAR(matthews_correlation(c), 0.1690308509457033, 1e-15);
}

TEST(Classification, UndefinedScoresAreZero) {
  // reference: f1_score(zero_division=0) and matthews_corrcoef on the same degenerate inputs.
  const BinaryConfusion all_negative = confusion({false, false, false}, {false, false, false});
  EXPECT_EQ(f1(all_negative), 0.0);
  EXPECT_EQ(matthews_correlation(all_negative), 0.0);
  EXPECT_EQ(precision(all_negative), 0.0);
  EXPECT_EQ(recall(all_negative), 0.0);
  EXPECT_EQ(accuracy(all_negative), 1.0);
  const BinaryConfusion never_predicted = confusion({true, true, false}, {false, false, false});
  EXPECT_EQ(f1(never_predicted), 0.0);
  EXPECT_EQ(matthews_correlation(never_predicted), 0.0);
  const BinaryConfusion all_positive = confusion({true, true, true}, {true, true, true});
  EXPECT_EQ(f1(all_positive), 1.0);
  EXPECT_EQ(matthews_correlation(all_positive), 0.0);
  EXPECT_EQ(accuracy(BinaryConfusion{}), 0.0);
  EXPECT_THROW(confusion({true}, {}), std::invalid_argument);
}

TEST(Classification, PerfectAndInverted) {
  EXPECT_DOUBLE_EQ(matthews_correlation(confusion({true, false, true, false}, {true, false, true, false})),
                   1.0);
  EXPECT_DOUBLE_EQ(matthews_correlation(confusion({true, false, true, false}, {false, true, false, true})),
                   -1.0);
}

TEST(TopKAccuracy, CountsGoldWithinFirstK) {
  const std::vector<std::vector<std::string>> predictions = {
      {"nurse", "dentist", "surgeon"}, {"poet", "dj"}, {}};
  const std::vector<std::string> gold = {"surgeon", "poet", "model"};
  EXPECT_DOUBLE_EQ(top_k_accuracy(predictions, gold, 1), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(top_k_accuracy(predictions, gold, 3), 2.0 / 3.0);
  EXPECT_THROW(top_k_accuracy(predictions, gold, 0), std::invalid_argument);
  EXPECT_THROW(top_k_accuracy(predictions, {"x"}, 1), std::invalid_argument);
}

TEST(Pearson, MatchesScipy) {
  // reference: scipy.stats.pearsonr
  const std::optional<double> r = pearson({-2.5, -1.0, -3.2, -0.4, -5.0}, {-2.0, -1.5, -2.9, -0.1, -4.2});
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(*r, 0.97406293629720719, 1e-14);
  const std::optional<double> anti = pearson({1, 2, 3}, {3, 2, 1});
  ASSERT_TRUE(anti.has_value());
  EXPECT_NEAR(*anti, -1.0, 1e-15);
}

TEST(Pearson, UndefinedCasesAreSkippedAndCounted) {
  EXPECT_FALSE(pearson({}, {}).has_value());
  EXPECT_FALSE(pearson({1.0}, {2.0}).has_value());
  EXPECT_FALSE(pearson({1, 1, 1}, {1, 2, 3}).has_value());
  EXPECT_FALSE(pearson({1, 2, 3}, {5, 5, 5}).has_value());
  EXPECT_FALSE(pearson({1, 2, -INFINITY}, {1, 2, 3}).has_value());
  EXPECT_FALSE(pearson({1, 2, NAN}, {1, 2, 3}).has_value());
  EXPECT_THROW(pearson({1, 2}, {1}), std::invalid_argument);

  const CorrelationSummary summary =
      summarize_correlations({0.5, std::nullopt, 1.0, pearson({1, 1}, {1, 2}), 0.0});
  EXPECT_EQ(summary.used, 3U);
  EXPECT_EQ(summary.skipped, 2U);
  ASSERT_TRUE(summary.aggregate.has_value());
  EXPECT_DOUBLE_EQ(summary.aggregate->mean, 0.5);
  const CorrelationSummary none = summarize_correlations({std::nullopt});
  EXPECT_FALSE(none.aggregate.has_value());
  EXPECT_EQ(none.skipped, 1U);
}

TEST(HarmonicMean, MatchesScipy) {
  EXPECT_DOUBLE_EQ(harmonic_mean({0.5, 0.25, 5.5}), 0.48529411764705882);  // reference: scipy.stats.hmean
  EXPECT_EQ(harmonic_mean({0.5, 0.0}), 0.0);
  EXPECT_THROW(harmonic_mean({}), std::invalid_argument);
  EXPECT_THROW(harmonic_mean({-1.0}), std::invalid_argument);
}

TEST(Quantile, MatchesNumpyLinear) {
  const std::vector<double> values = {3, 1, 4, 1, 5, 9, 2, 6};
  // reference: np.quantile(values, q)
  EXPECT_DOUBLE_EQ(quantile(values, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile(values, 0.025), 1.0);
  EXPECT_DOUBLE_EQ(quantile(values, 0.5), 3.5);
  EXPECT_DOUBLE_EQ(quantile(values, 0.975), 8.4750000000000014);
  EXPECT_DOUBLE_EQ(quantile(values, 1.0), 9.0);
  EXPECT_THROW(quantile({}, 0.5), std::invalid_argument);
  EXPECT_THROW(quantile(values, 1.5), std::invalid_argument);
}

TEST(Bootstrap, ReplaysTheReferenceResamples) {
  // reference: the script re-implements std::mt19937_64 in Python (checked against the standard's
  // 10000th value), draws the same indices and takes np.quantile of the 200 resample means.
  BootstrapOptions options;
  options.resamples = 200;
  options.seed = 7;
  const ConfidenceInterval ci = bootstrap_mean_ci({0.1, 0.9, 0.4, 0.4, 0.7, 0.0, 1.0, 0.3}, options);
  EXPECT_NEAR(ci.lower, 0.23750000000000004, 1e-15);
  EXPECT_NEAR(ci.upper, 0.71281250000000007, 1e-15);
}

TEST(Bootstrap, CoversTheMeanWithTheExpectedWidth) {
  // 400 draws of N(0.3, 0.2²): the 95% interval of the mean is about ±1.96·0.2/√400 = ±0.0196.
  std::mt19937_64 generator(11);
  std::normal_distribution<double> normal(0.3, 0.2);
  std::vector<double> values(400);
  for (double& v : values) v = normal(generator);
  const double mean = aggregate(values).mean;
  const ConfidenceInterval ci = bootstrap_mean_ci(values);
  EXPECT_LT(ci.lower, mean);
  EXPECT_GT(ci.upper, mean);
  EXPECT_NEAR(ci.upper - ci.lower, 2 * 1.96 * aggregate(values).std / std::sqrt(400.0), 0.004);
  // Same seed, same interval; constant data, a point interval.
  const ConfidenceInterval again = bootstrap_mean_ci(values);
  EXPECT_EQ(ci.lower, again.lower);
  EXPECT_EQ(ci.upper, again.upper);
  const ConfidenceInterval point = bootstrap_mean_ci({0.25, 0.25, 0.25});
  EXPECT_EQ(point.lower, 0.25);
  EXPECT_EQ(point.upper, 0.25);
  EXPECT_THROW(bootstrap_mean_ci({}), std::invalid_argument);
  EXPECT_THROW(bootstrap_mean_ci({1.0}, BootstrapOptions{0, 0.95, 1}), std::invalid_argument);
  EXPECT_THROW(bootstrap_mean_ci({1.0}, BootstrapOptions{10, 1.0, 1}), std::invalid_argument);
}

TEST(Bootstrap, AnyStatisticSeesTheSameResamplesAsTheMean) {
  // Accuracy is the mean of per-sample correctness, so its bootstrap interval must equal the mean's.
  const std::vector<bool> truth{true, false, true, true, false, false, true, false, true, true};
  const std::vector<bool> predicted{true, true, true, false, false, false, true, true, true, false};
  std::vector<double> correct;
  for (std::size_t i = 0; i < truth.size(); ++i) correct.push_back(truth[i] == predicted[i] ? 1.0 : 0.0);
  BootstrapOptions options;
  options.resamples = 500;
  const auto resampled_accuracy = [&](const std::vector<std::size_t>& indices) {
    std::vector<bool> t;
    std::vector<bool> p;
    for (const std::size_t i : indices) {
      t.push_back(truth[i]);
      p.push_back(predicted[i]);
    }
    return accuracy(confusion(t, p));
  };
  const ConfidenceInterval by_statistic = bootstrap_ci(truth.size(), resampled_accuracy, options);
  const ConfidenceInterval by_mean = bootstrap_mean_ci(correct, options);
  EXPECT_DOUBLE_EQ(by_statistic.lower, by_mean.lower);
  EXPECT_DOUBLE_EQ(by_statistic.upper, by_mean.upper);
  EXPECT_LT(by_statistic.lower, 0.6);
  EXPECT_GT(by_statistic.upper, 0.6);
  EXPECT_THROW(bootstrap_ci(0, resampled_accuracy), std::invalid_argument);
}

}  // namespace
}  // namespace remedi::eval
