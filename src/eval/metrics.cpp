#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace remedi::eval {

namespace {

double mean_of(const std::vector<double>& values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

void require_same_length(std::size_t a, std::size_t b, const char* what) {
  if (a != b) {
    throw std::invalid_argument(std::string(what) + ": lengths differ (" + std::to_string(a) + " vs " +
                                std::to_string(b) + ")");
  }
}

double ratio_or_zero(double numerator, double denominator) {
  return denominator == 0.0 ? 0.0 : numerator / denominator;
}

// Uniform index in [0, n) from a 64-bit generator, without modulo bias: reject the low values that
// would make some residues more likely.
std::size_t uniform_index(std::mt19937_64& generator, std::size_t n) {
  const std::uint64_t bound = n;
  const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod n
  for (;;) {
    const std::uint64_t draw = generator();
    if (draw >= threshold) return static_cast<std::size_t>(draw % bound);
  }
}

}  // namespace

Aggregate aggregate(const std::vector<double>& values, bool keep_values) {
  if (values.empty()) throw std::invalid_argument("aggregate: no values");
  Aggregate result;
  result.mean = mean_of(values);
  double squares = 0.0;
  for (double v : values) squares += (v - result.mean) * (v - result.mean);
  result.std = std::sqrt(squares / static_cast<double>(values.size()));
  if (keep_values) result.values = values;
  return result;
}

EfficacyMetrics efficacy(const std::vector<std::vector<double>>& targets,
                         const std::vector<std::vector<double>>& comparators, ProbabilityScale scale) {
  require_same_length(targets.size(), comparators.size(), "efficacy");
  if (targets.empty()) throw std::invalid_argument("efficacy: no samples");
  const auto probability = [scale](double x) {
    return scale == ProbabilityScale::kLogProbability ? std::exp(x) : x;
  };
  std::vector<double> scores;
  std::vector<double> magnitudes;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    require_same_length(targets[i].size(), comparators[i].size(), "efficacy sample");
    if (targets[i].empty())
      throw std::invalid_argument("efficacy: sample " + std::to_string(i) + " has no value");
    double wins = 0.0;
    double difference = 0.0;
    for (std::size_t j = 0; j < targets[i].size(); ++j) {
      const double p_target = probability(targets[i][j]);
      const double p_comparator = probability(comparators[i][j]);
      if (p_target > p_comparator) wins += 1.0;
      difference += p_target - p_comparator;
    }
    const auto n = static_cast<double>(targets[i].size());
    scores.push_back(wins / n);
    magnitudes.push_back(difference / n);
  }
  return {aggregate(scores, /*keep_values=*/true), aggregate(magnitudes, /*keep_values=*/true)};
}

BinaryConfusion confusion(const std::vector<bool>& truth, const std::vector<bool>& predicted) {
  require_same_length(truth.size(), predicted.size(), "confusion");
  BinaryConfusion c;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i]) {
      ++(predicted[i] ? c.true_positives : c.false_negatives);
    } else {
      ++(predicted[i] ? c.false_positives : c.true_negatives);
    }
  }
  return c;
}

double accuracy(const BinaryConfusion& c) {
  const auto n =
      static_cast<double>(c.true_positives + c.true_negatives + c.false_positives + c.false_negatives);
  return ratio_or_zero(static_cast<double>(c.true_positives + c.true_negatives), n);
}

double precision(const BinaryConfusion& c) {
  return ratio_or_zero(static_cast<double>(c.true_positives),
                       static_cast<double>(c.true_positives + c.false_positives));
}

double recall(const BinaryConfusion& c) {
  return ratio_or_zero(static_cast<double>(c.true_positives),
                       static_cast<double>(c.true_positives + c.false_negatives));
}

double f1(const BinaryConfusion& c) {
  const auto tp = static_cast<double>(c.true_positives);
  return ratio_or_zero(2.0 * tp, 2.0 * tp + static_cast<double>(c.false_positives + c.false_negatives));
}

double matthews_correlation(const BinaryConfusion& c) {
  const auto tp = static_cast<double>(c.true_positives);
  const auto tn = static_cast<double>(c.true_negatives);
  const auto fp = static_cast<double>(c.false_positives);
  const auto fn = static_cast<double>(c.false_negatives);
  const double denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
  return denominator == 0.0 ? 0.0 : (tp * tn - fp * fn) / std::sqrt(denominator);
}

double top_k_accuracy(const std::vector<std::vector<std::string>>& predictions,
                      const std::vector<std::string>& gold, std::size_t k) {
  require_same_length(predictions.size(), gold.size(), "top_k_accuracy");
  if (k == 0) throw std::invalid_argument("top_k_accuracy: k must be positive");
  if (gold.empty()) throw std::invalid_argument("top_k_accuracy: no rows");
  std::size_t hits = 0;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    const auto end = predictions[i].begin() + static_cast<std::ptrdiff_t>(std::min(k, predictions[i].size()));
    if (std::find(predictions[i].begin(), end, gold[i]) != end) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(gold.size());
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  require_same_length(x.size(), y.size(), "pearson");
  if (x.size() < 2) return std::nullopt;
  const auto finite = [](double v) { return std::isfinite(v); };
  if (!std::all_of(x.begin(), x.end(), finite) || !std::all_of(y.begin(), y.end(), finite))
    return std::nullopt;
  const auto constant = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [&](double e) { return e == v.front(); });
  };
  if (constant(x) || constant(y)) return std::nullopt;
  const double x_mean = mean_of(x);
  const double y_mean = mean_of(y);
  double cross = 0.0;
  double x_squares = 0.0;
  double y_squares = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - x_mean;
    const double dy = y[i] - y_mean;
    cross += dx * dy;
    x_squares += dx * dx;
    y_squares += dy * dy;
  }
  return std::clamp(cross / (std::sqrt(x_squares) * std::sqrt(y_squares)), -1.0, 1.0);
}

CorrelationSummary summarize_correlations(const std::vector<std::optional<double>>& per_sample) {
  std::vector<double> defined;
  for (const std::optional<double>& r : per_sample) {
    if (r.has_value()) defined.push_back(*r);
  }
  CorrelationSummary summary;
  summary.used = defined.size();
  summary.skipped = per_sample.size() - defined.size();
  if (!defined.empty()) summary.aggregate = aggregate(defined);
  return summary;
}

double harmonic_mean(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("harmonic_mean: no values");
  double reciprocal_sum = 0.0;
  for (double v : values) {
    if (v < 0.0 || std::isnan(v)) throw std::invalid_argument("harmonic_mean: values must be non-negative");
    if (v == 0.0) return 0.0;
    reciprocal_sum += 1.0 / v;
  }
  return static_cast<double>(values.size()) / reciprocal_sum;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("quantile: no values");
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile: q must be in [0, 1]");
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

ConfidenceInterval bootstrap_mean_ci(const std::vector<double>& values, const BootstrapOptions& options) {
  if (values.empty()) throw std::invalid_argument("bootstrap_mean_ci: no values");
  return bootstrap_ci(
      values.size(),
      [&values](const std::vector<std::size_t>& indices) {
        double sum = 0.0;
        for (const std::size_t i : indices) sum += values[i];
        return sum / static_cast<double>(indices.size());
      },
      options);
}

ConfidenceInterval bootstrap_ci(std::size_t n,
                                const std::function<double(const std::vector<std::size_t>&)>& statistic,
                                const BootstrapOptions& options) {
  return bootstrap_cis(
             n, 1,
             [&statistic](const std::vector<std::size_t>& indices) {
               return std::vector<double>{statistic(indices)};
             },
             options)
      .front();
}

std::vector<ConfidenceInterval> bootstrap_cis(
    std::size_t n, std::size_t count,
    const std::function<std::vector<double>(const std::vector<std::size_t>&)>& statistics,
    const BootstrapOptions& options) {
  if (n == 0) throw std::invalid_argument("bootstrap_ci: no values");
  if (options.resamples == 0) throw std::invalid_argument("bootstrap_ci: resamples must be positive");
  if (!(options.confidence > 0.0 && options.confidence < 1.0)) {
    throw std::invalid_argument("bootstrap_ci: confidence must be in (0, 1)");
  }
  std::mt19937_64 generator(options.seed);
  std::vector<std::vector<double>> values(count, std::vector<double>(options.resamples));
  std::vector<std::size_t> indices(n);
  for (std::size_t r = 0; r < options.resamples; ++r) {
    for (std::size_t& index : indices) index = uniform_index(generator, n);
    const std::vector<double> these = statistics(indices);
    if (these.size() != count) throw std::invalid_argument("bootstrap_cis: wrong number of statistics");
    for (std::size_t k = 0; k < count; ++k) values[k][r] = these[k];
  }
  const double tail = (1.0 - options.confidence) / 2.0;
  std::vector<ConfidenceInterval> intervals;
  intervals.reserve(count);
  for (std::vector<double>& v : values)
    intervals.push_back({quantile(v, tail), quantile(std::move(v), 1.0 - tail)});
  return intervals;
}

}  // namespace remedi::eval
