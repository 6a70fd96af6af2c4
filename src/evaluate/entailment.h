// The McRae entailment benchmark (METHOD §8.11, `remedi eval entailment`). Each sample's co-occurring,
// original and unrelated features are scored as "<prompt> <target>" by the unedited LM and by the LM
// edited with the sample's context; per sample, Pearson's r of those log-probabilities with the norms'
// (co_prob, prob) says whether the edit made the LM believe what the norms entail, and the mean
// probability change per kind (the paper's Δp) how far it moved (remedi/entailment.h). The prefix
// baseline writes the context before the co and original prompts instead (unedited LM only).
//
// Files under <results>/<name>/<type>/<layer>/, or <results>/<name>/prefix/ (eval/results_layout.h):
//   entailment.json          per sample: id, entity, context, attribute, its correlations and Δp, and
//                            its co, orig, unrel and dropped features with their log-probs
//   entailment_metrics.json  orig_corr_pre/post, co_corr_pre/post, co/orig/unrel_delta_prob ({mean,
//                            std, ci95} or null), skipped_samples, delta_prob_definition, samples,
//                            features, target_span, dataset_file, synthetic_data
// A folder whose metrics file exists is read back (with "skipped_existing": true), not run again.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

struct EntailmentOptions : EvalOptions {
  EntailmentOptions() { data.dataset = "mcrae"; }
  std::string baseline;                  // "" (editors) or "prefix" (the unedited LM, no editor fields)
  bool target_first_occurrence = false;  // score the target's first occurrence (METHOD Q8), not its suffix
};

// What eval entailment computes and prints.
struct EntailmentResults {
  std::string experiment;    // <results>/<name>
  std::string dataset_file;  // the McRae input read
  bool synthetic = false;    // the input is synthetic test data (its name says "synthetic")
  std::size_t samples = 0;
  std::size_t features = 0;  // scored feature rows
  nlohmann::json metrics;    // the prefix baseline's metrics; null with editors
  nlohmann::json layers;     // with editors: {"<layer>": metrics}; null for the baseline
  bool computed = false;     // whether anything was computed (not every result read back)

  // {experiment, dataset_file, synthetic_data, samples, features} with {baseline: "prefix", metrics} or
  // {type, layers}: what `remedi eval entailment` prints; `type` is the editor type.
  nlohmann::json summary(const std::string& type) const;
};

// The McRae input options select: options.data.file, else the default under the data folder, which is
// not shipped (the norms are not redistributable). Throws remedi::Error naming that path, and saying
// where to put the norms, when it is missing.
std::string entailment_dataset_file(const EntailmentOptions& options);

// The results, read back, when every folder `options` asks for (the baseline's, or those of explicit
// options.layers) has its metrics file; nothing otherwise. Needs no model, so a finished run is
// reported without loading one. Checks the input as entailment() does and throws the same errors.
std::optional<EntailmentResults> finished_entailment(const EntailmentOptions& options);

// Runs the baseline (options.baseline "prefix") or every editor of `options` (options.layers, else
// every saved layer) on options' McRae rows, skipping folders whose metrics exist. Writes the files
// above, warns on stderr when the input is synthetic and reports progress unless options.quiet.
// Throws remedi::Error naming --baseline (anything but prefix, or prefix with editor fields), the
// input file (missing, or a probability that is not one), --rows, --layers or --editors-dir; nothing
// is written before the input has been checked.
EntailmentResults entailment(const lm::LoadedModel& model, const EntailmentOptions& options);

}  // namespace remedi::evaluate
