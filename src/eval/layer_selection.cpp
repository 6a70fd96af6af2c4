#include "eval/layer_selection.h"

#include <cmath>

#include "eval/metrics.h"

namespace remedi::eval {

LayerSelection select_layer(const std::vector<LayerCandidate>& candidates) {
  LayerSelection selection;
  double best = 0.0;
  for (const LayerCandidate& candidate : candidates) {
    // A single criterion is used as is: 1 / (1 / v) need not give v back to the last bit.
    const double score =
        candidate.criteria.size() == 1 ? candidate.criteria.front() : harmonic_mean(candidate.criteria);
    selection.scores.emplace_back(candidate.layer, score);
    if (std::isnan(score)) continue;  // an undefined criterion (F1 without positives) never wins
    if (!selection.best_layer || score > best) {
      best = score;
      selection.best_layer = candidate.layer;
    }
  }
  return selection;
}

}  // namespace remedi::eval
