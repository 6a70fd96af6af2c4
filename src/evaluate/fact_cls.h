// CounterFact factual-error classification (METHOD §8.8, `remedi eval fact-cls`): REMEDI as a detector
// of the LM's factual errors. For each editor layer l and entity layer l_e, the editor's directions for
// the new and the true attribute (from the context, and from the context with the true object) are
// compared with the LM's representation of the entity at l_e (the last token of its mention, after
// block l_e), in context (contextual task: will the LM follow the new fact stated before the prompt?)
// and in the bare prompt (decontextual task: does it already know the true one?). The positive class
// is "the LM is wrong" (remedi/classification.h).
//
// Files, per editor layer l and entity layer l_e, under <results>/<name>/<type>/<l>/ (METHOD §8.14,
// eval/results_layout.h):
//   fact_cls_layer_<l_e><suffix>.json          per sample: id, entity, and per task the two log-probs,
//                                              the two scores, lm_right, predicted_right
//   fact_cls_layer_<l_e><suffix>_metrics.json  per task: accuracy, f1, mcc, their 95% bootstrap
//                                              intervals, the confusion counts, samples, lm_wrong
// with <suffix> "", "_control_task", "_control_model" or both (eval::control_suffix). A pair whose
// metrics file exists is read back, not computed again.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

// What eval fact-cls computes and prints.
struct FactClsResults {
  std::string experiment;  // <results>/<name>
  std::string type;        // the editor type
  // {"<editor layer>": {"<entity layer>": {"contextual": {accuracy, f1, mcc}, "decontextual": {...}}}}:
  // the headline numbers of every requested pair, computed now or read back.
  nlohmann::json layers = nlohmann::json::object();
  // {"<editor layer>": entity layer}: METHOD §8.15's choice, the entity layer of best contextual F1
  // (eval::select_layer over the entity layers in the order requested: the first wins a tie, the
  // lowest with the default ascending layers). An editor layer whose F1s are all undefined has none.
  nlohmann::json best_entity_layer = nlohmann::json::object();

  // {experiment, type, layers, best_entity_layer}: what `remedi eval fact-cls` prints.
  nlohmann::json summary() const;
};

// Runs the classification for every editor of `options` (options.layers, else every saved layer) at
// each of its entity layers (entity_layers_for), on options' CounterFact rows (at least 2), probing
// every entity layer in one pass over the data. Writes the files above and reports progress on stderr
// unless options.quiet. Throws remedi::Error naming the option at fault (--similarity, --rows,
// --layers, --entity-layers, --editors-dir) or the sample whose entity cannot be located; nothing is
// written before the input has been checked.
FactClsResults fact_cls(const lm::LoadedModel& model, const ClassificationOptions& options);

}  // namespace remedi::evaluate
