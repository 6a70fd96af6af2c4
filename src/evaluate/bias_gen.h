// Bias in Bios error correction by generation (METHOD §8.9, `remedi eval bias-gen`). Each evaluated
// person's prompt "<first> has the occupation of", after the bio (contextual, the default) or alone
// (decontextual), is continued by top-k sampling (k = 5) and scored by one forward pass for the
// occupation labels (the sorted distinct titles of the rows), with the unedited LM (the baseline) and
// with each editor (the edit from the bio's attribute, at the prompt's own mention of the person). Per
// row: the top-3 predicted labels, the target's log-prob, the fluency of the generation and its
// consistency with the mean TF-IDF vector of the bios of its label (remedi/bias_generation.h).
//
// Files under <results>/<name>/<setting>/ (setting: contextual or decontextual; METHOD §8.14,
// eval/results_layout.h):
//   baseline.json                               {samples: per-row records, metrics}
//   <type>/<layer>/error_correction.json        the edited rows' records
//   <type>/<layer>/error_correction_metrics.json
//   <type>/layer_selection.json                 decontextual with editors: METHOD §8.15's choice
// Metrics: top1_accuracy, topk_accuracy, k, fluency and consistency ({mean, std, ci95}), bootstrap
// intervals of the accuracies, samples, labels, setting, rows_in_overlong_batches, generation_seconds.
// A results file that exists is read back and its run skipped.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

struct BiasGenOptions : EvalOptions {
  BiasGenOptions() { data.dataset = "biosbias"; }
  bool decontextualized = false;    // the prompt alone, without the bio
  std::int64_t max_length = 150;    // total tokens including the left-padded prompt (METHOD Q12)
  std::int64_t max_new_tokens = 0;  // > 0: new tokens per batch instead of max_length's budget
  bool run_editors = false;         // false: the unedited baseline only (editors, type, layers unused)
};

// Sampling's top-k and the k of the top-k accuracy (METHOD §8.9), for the arguments file.
inline constexpr std::int64_t kBiasGenSamplingTopK = 5;
inline constexpr std::size_t kBiasGenTopPredictions = 3;

// What eval bias-gen computes and prints.
struct BiasGenResults {
  std::string experiment;          // <results>/<name>
  std::string setting;             // contextual | decontextual
  nlohmann::json baseline;         // the unedited LM's metrics
  nlohmann::json layers;           // with editors: {"<layer>": metrics}; null without
  nlohmann::json layer_selection;  // decontextual with editors: {rule, scores, best_layer}; null otherwise

  // {experiment, setting, baseline[, type, layers][, layer_selection]}: what `remedi eval bias-gen`
  // prints; `type` is the editor type.
  nlohmann::json summary(const std::string& type) const;
};

// Runs the baseline and, with options.run_editors, every editor of `options` (options.layers, else
// every saved layer) on options' Bias in Bios rows; the consistency references' vectoriser is fitted
// on every row of the data set. Writes the files above and reports progress on stderr unless
// options.quiet. Throws remedi::Error naming the option at fault (--max-length, --max-new-tokens,
// --rows, --layers, --editors-dir), a label without tokens, or a sample whose prompt does not mention
// the person as the setting needs.
BiasGenResults bias_gen(const lm::LoadedModel& model, const BiasGenOptions& options);

}  // namespace remedi::evaluate
