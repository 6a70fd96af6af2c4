// Pieces the evaluations' result files and summaries share (internal to src/evaluate).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "evaluate/setup.h"
#include "remedi/classification.h"

namespace remedi::evaluate {

// <results>/<name>: the experiment folder of an evaluation (results_dir(options.results) / name).
std::string experiment_folder(const EvalOptions& options);

// {value, ci95: [lower, upper]}: a classification score with its bootstrap interval.
nlohmann::json interval_json(const ScoreWithInterval& score);
// The same for a rate whose per-sample 0/1 `hits` give the bootstrap interval of their mean.
nlohmann::json interval_json(double value, const std::vector<double>& hits);

// {tp, fp, tn, fn}.
nlohmann::json confusion_json(const eval::BinaryConfusion& confusion);

}  // namespace remedi::evaluate
