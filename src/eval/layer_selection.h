// The layer-selection rule of METHOD §8.15, the one place it is written: among candidate layers, the
// one whose criteria have the highest harmonic mean, the first candidate on a tie. The paper applies
// it to choose the edit layer (CounterFact: paraphrase score, generation consistency and fluency;
// Bias in Bios: top-1 accuracy and fluency) and the classifications' entity layer (F1 alone).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace remedi::eval {

struct LayerCandidate {
  std::int64_t layer = 0;
  std::vector<double> criteria;  // each >= 0 (fluency in raw bits, as the original); at least one
};

struct LayerSelection {
  std::vector<std::pair<std::int64_t, double>> scores;  // per candidate, in the candidates' order
  std::optional<std::int64_t> best_layer;               // none without candidates
};

// One criterion scores as itself, several as their harmonic mean (eval::harmonic_mean). Order the
// candidates so that the one a tie should pick comes first (ascending layers: the lowest wins). A NaN
// score is reported but never selected.
LayerSelection select_layer(const std::vector<LayerCandidate>& candidates);

}  // namespace remedi::eval
