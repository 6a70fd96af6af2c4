#include "evaluate/results_json.h"

#include <filesystem>

namespace remedi::evaluate {

std::string experiment_folder(const EvalOptions& options) {
  return (std::filesystem::path(results_dir(options.results)) / options.name).string();
}

nlohmann::json interval_json(const ScoreWithInterval& score) {
  return {{"value", score.value}, {"ci95", {score.ci95.lower, score.ci95.upper}}};
}

nlohmann::json interval_json(double value, const std::vector<double>& hits) {
  return interval_json(ScoreWithInterval{value, eval::bootstrap_mean_ci(hits)});
}

nlohmann::json confusion_json(const eval::BinaryConfusion& confusion) {
  return {{"tp", confusion.true_positives},
          {"fp", confusion.false_positives},
          {"tn", confusion.true_negatives},
          {"fn", confusion.false_negatives}};
}

}  // namespace remedi::evaluate
