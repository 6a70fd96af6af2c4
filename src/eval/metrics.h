// Pure evaluation metrics (METHOD §8): aggregates, efficacy, classification scores, correlation and
// bootstrap confidence intervals. Text metrics live in fluency.h and tfidf.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace remedi::eval {

// {mean, std} of per-sample values with the population standard deviation (divide by N), as the
// original's numpy aggregate. `values` is filled only when asked for.
struct Aggregate {
  double mean = 0.0;
  double std = 0.0;
  std::vector<double> values;
};
// Throws std::invalid_argument for an empty list.
Aggregate aggregate(const std::vector<double>& values, bool keep_values = false);

// Efficacy (METHOD §8.2): per sample, the fraction of its prompts where p(target) > p(comparator) (score)
// and the mean of p(target) − p(comparator) (magnitude, a probability difference); then aggregates
// over samples. Inputs are per-sample lists, as log-probabilities (exponentiated first) or as
// probabilities. Throws std::invalid_argument when the shapes differ or a sample has no value.
enum class ProbabilityScale { kLogProbability, kProbability };
// Per-sample values are kept (for confidence intervals).
struct EfficacyMetrics {
  Aggregate score;
  Aggregate magnitude;
};
EfficacyMetrics efficacy(const std::vector<std::vector<double>>& targets,
                         const std::vector<std::vector<double>>& comparators, ProbabilityScale scale);

// Binary classification with `true` as the positive class (REMEDI: "the LM is wrong").
struct BinaryConfusion {
  std::size_t true_positives = 0;
  std::size_t false_positives = 0;
  std::size_t true_negatives = 0;
  std::size_t false_negatives = 0;
};
// Throws std::invalid_argument when the lengths differ.
BinaryConfusion confusion(const std::vector<bool>& truth, const std::vector<bool>& predicted);
double accuracy(const BinaryConfusion& c);   // (TP + TN) / N; 0 for N = 0
double precision(const BinaryConfusion& c);  // TP / (TP + FP); 0 when undefined
double recall(const BinaryConfusion& c);     // TP / (TP + FN); 0 when undefined
// F1 of the positive class, 2TP / (2TP + FP + FN) (= harmonic mean of precision and recall;
// scikit-learn's average="binary"); 0 when undefined, as with zero_division=0.
double f1(const BinaryConfusion& c);
// (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)); 0 when the denominator is 0.
double matthews_correlation(const BinaryConfusion& c);

// Fraction of rows whose gold label is among the first `k` predictions (k = 1: top-1 accuracy).
// Throws std::invalid_argument when the lengths differ, k is 0 or there is no row.
double top_k_accuracy(const std::vector<std::vector<std::string>>& predictions,
                      const std::vector<std::string>& gold, std::size_t k);

// Pearson's r, or nothing when it is undefined: fewer than two pairs, a non-finite value, or a
// constant x or y (the original then fails or yields NaN, METHOD Q23). Throws std::invalid_argument
// when the lengths differ.
std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y);

// Aggregate of per-sample correlations that skips undefined ones and says how many it skipped.
struct CorrelationSummary {
  std::optional<Aggregate> aggregate;  // nothing when every sample was skipped
  std::size_t used = 0;
  std::size_t skipped = 0;
};
CorrelationSummary summarize_correlations(const std::vector<std::optional<double>>& per_sample);

// Harmonic mean (METHOD §8.15 layer selection): n / Σ 1/x, 0 if any value is 0. Throws
// std::invalid_argument for an empty list or a negative value.
double harmonic_mean(const std::vector<double>& values);

// The q-th quantile (q in [0, 1]) of `values` with linear interpolation between order statistics
// (numpy's default "linear" method). Throws std::invalid_argument for an empty list or q outside [0, 1].
double quantile(std::vector<double> values, double q);

// Percentile bootstrap confidence interval of the mean: draw `resamples` samples of size N with
// replacement (indices from a std::mt19937_64 seeded with `seed`, mapped to [0, N) by rejection
// sampling so that the stream is the same with every standard library), take each resample's mean,
// and return the (1 − confidence)/2 and (1 + confidence)/2 quantiles of those means.
struct BootstrapOptions {
  std::size_t resamples = 10000;
  double confidence = 0.95;
  std::uint64_t seed = 20230403;
};
struct ConfidenceInterval {
  double lower = 0.0;
  double upper = 0.0;
};
// Throws std::invalid_argument for an empty list, zero resamples or confidence outside (0, 1).
ConfidenceInterval bootstrap_mean_ci(const std::vector<double>& values, const BootstrapOptions& options = {});

// The same percentile bootstrap for any statistic of N samples: `statistic` gets the resampled
// indices (N of them, drawn with replacement, the same stream as bootstrap_mean_ci) and returns the
// statistic of that resample (e.g. the F1 of the resampled predictions). Throws as above for n = 0.
ConfidenceInterval bootstrap_ci(std::size_t n,
                                const std::function<double(const std::vector<std::size_t>&)>& statistic,
                                const BootstrapOptions& options = {});
// Several statistics of the same resamples in one pass: `statistics` returns `count` values per
// resample; interval k is the one bootstrap_ci gives for the k-th statistic alone.
std::vector<ConfidenceInterval> bootstrap_cis(
    std::size_t n, std::size_t count,
    const std::function<std::vector<double>(const std::vector<std::size_t>&)>& statistics,
    const BootstrapOptions& options = {});

}  // namespace remedi::eval
