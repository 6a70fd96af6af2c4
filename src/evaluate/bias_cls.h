// Bias in Bios occupation-error classification ("Bios-Med", METHOD §8.10, `remedi eval bias-cls`):
// REMEDI as a detector of the LM's occupation errors. The unedited LM ranks the occupations (the sorted
// distinct titles of the rows) by the log-prob of their first token after
// "<bio>. <first> has the occupation of"; for each editor layer l and entity layer l_e, the probe ranks
// them by the similarity of the LM's representation of the person at l_e to the editor's direction for
// each occupation, and predicts an error when the LM's first choice is not in its own top 3
// (remedi/bias_classification.h).
//
// Files, per editor layer l and entity layer l_e, under <results>/<name>/<type>/<l>/ (METHOD §8.14,
// eval/results_layout.h):
//   error_cls_layer_<l_e><suffix>.json          per sample: id, entity, ground_truth, the LM's top 3
//                                               labels with their log-probs, the probe's top 3 with
//                                               their scores, lm_wrong, predicted_wrong
//   error_cls_layer_<l_e><suffix>_metrics.json  f1, mcc, accuracy (with 95% bootstrap intervals),
//                                               probe and model recall@1 and @k, k, the confusion
//                                               counts, samples, lm_wrong, labels
// with <suffix> "_symmetric" (options.symmetric) followed by eval::control_suffix. A pair whose metrics
// file exists is read back, not computed again.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

struct BiasClsOptions : ClassificationOptions {
  BiasClsOptions() { data.dataset = "biosbias"; }
  // Every label's direction from "has the occupation of <label>", the gold one too (docs/METHOD.md
  // Q18 variant; label_sample's `symmetric`).
  bool symmetric = false;
};

// What eval bias-cls computes and prints.
struct BiasClsResults {
  std::string experiment;  // <results>/<name>
  std::string type;
  std::size_t samples = 0;
  std::size_t labels = 0;
  // {"<editor layer>": {"<entity layer>": {f1, mcc, accuracy, probe_recall_1, probe_recall_k,
  // model_recall_1, model_recall_k, k}}}: the headline of every requested pair, computed now or read back.
  nlohmann::json layers = nlohmann::json::object();
  // {"<editor layer>": entity layer}: METHOD §8.15's choice, the entity layer of best F1, the lowest
  // on a tie (eval::select_layer over ascending entity layers); -1 where no F1 is defined.
  nlohmann::json best_entity_layer = nlohmann::json::object();
  bool computed = false;  // whether any pair was computed (not every one read back)

  // {experiment, type, samples, labels, layers, best_entity_layer}: what `remedi eval bias-cls` prints.
  nlohmann::json summary() const;
};

// Runs the classification for every editor of `options` (options.layers, else every saved layer) at
// each of its entity layers (entity_layers_for), on options' Bias in Bios rows (at least 2, with at
// least 2 distinct titles), probing every entity layer in one pass. options.attribute_no_entity shapes
// the editor's contexts only (the LM's prompt keeps the bio). Writes the files above and reports
// progress on stderr unless options.quiet. Throws remedi::Error naming the option at fault
// (--similarity, --rows, --layers, --entity-layers, --editors-dir), a label without tokens, or a
// sample the probe cannot locate the entity in.
BiasClsResults bias_cls(const lm::LoadedModel& model, const BiasClsOptions& options);

}  // namespace remedi::evaluate
