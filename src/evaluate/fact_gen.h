// `remedi eval fact-gen` as a function: the CounterFact editing benchmarks (METHOD §8.2-8.6) of trained
// editors, each beside the unedited LM's scores on the same prompts, or the prefix and replace
// baselines (METHOD §8.7: the unedited LM on modified prompts), and the edit layer chosen by METHOD
// §8.15's rule.
//
//   efficacy      p(target_new) > p(target_true) after the sample's prompt (METHOD §8.2)
//   paraphrase    the same over the sample's distinct paraphrase prompts (METHOD §8.3)
//   neighborhood  p(target_true) > p(target_new) on prompts about other subjects, which the edit must
//                 leave alone (METHOD §8.6, docs/DEVIATIONS.md)
//   generation    fluency and consistency of sampled continuations (METHOD §8.4)
//   essence       does the entity keep its other properties (METHOD §8.5)
// Generation and essence use stand-ins for what the EasyEdit layout and our data lack
// (docs/DEVIATIONS.md; evaluate/fact_gen_references.h).
//
// Files (eval/results_layout.h), under <results>/<name> (the experiment):
//   args-<time>.json                           the options (fact_gen_options_json)
//   <type>/<layer>/<benchmark>.json            per prompt: the row, before_* and after_* scores or texts
//   <type>/<layer>/<benchmark>_metrics.json    the metrics (FactGenResults::metrics)
//   <type>/layer_selection.json                with paraphrase and generation (METHOD §8.15)
//   <baseline>/<benchmark>.json, ..._metrics.json
//   generation_references-<hash>.json, essence_references-<hash>.json   the unedited LM's references
// A benchmark whose metrics file exists is not run again (METHOD §8.14): its metrics are read back.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

// The benchmarks fact_gen knows, in the order of the list above.
const std::vector<std::string>& fact_gen_benchmarks();

struct FactGenOptions : EvalOptions {
  std::vector<std::string> benchmarks{"efficacy", "paraphrase"};  // run in this order
  std::string baseline;           // "", "prefix" or "replace"; a baseline runs no editor
  std::int64_t max_length = 100;  // generation: total tokens per row including the left-padded prompt
};

// What the args file records: eval_options_json plus benchmarks, baseline and max_length.
nlohmann::json fact_gen_options_json(const FactGenOptions& options);

// Throws remedi::Error naming the flag (--benchmarks, --baseline, --max-length) for an unknown
// benchmark or baseline, a baseline with layers or editors, or max_length < 2. Needs no model: callers
// check before loading one.
void check_fact_gen_options(const FactGenOptions& options);

struct FactGenResults {
  std::string experiment;  // <results>/<name>
  std::string type;        // the editors' type (unused by a baseline)
  std::string baseline;    // empty: editors
  // Editors: metrics[<layer>][<benchmark>]; a baseline: metrics[<benchmark>]. Each is what the
  // benchmark's metrics file holds: {"score", "magnitude"} aggregates (and "unedited" ones, for an
  // editor) for the scored benchmarks, {"fluency", "consistency"} for generation, {"essence",
  // "fluency_generation", "fluency_references"} for essence; with "samples" and "prompts".
  nlohmann::json metrics = nlohmann::json::object();
  // Editors run on paraphrase and generation: {"rule", "scores": {<layer>: score}, "best_layer"}
  // (fact_gen_layer_selection); null otherwise.
  nlohmann::json layer_selection;

  // What `remedi eval fact-gen` prints: {"experiment", "type", "layers": metrics[, "layer_selection"]}
  // or, for a baseline, {"experiment", "baseline", "benchmarks": metrics}.
  nlohmann::json summary() const;
};

// Runs options.benchmarks for the editors of options.type at options.layers under options.editors
// (every saved layer when none is given), or for options.baseline, on the rows load_eval_samples
// selects; writes the args file, the records and the metrics (above) and says on stderr what it does
// unless options.quiet. The replace baseline and the generation benchmark also read every row of the
// data set (the subjects they draw on). Throws remedi::Error for bad options (check_fact_gen_options),
// rows (load_eval_samples), editors (load_eval_editors), a sample that is not CounterFact's, or a
// replace baseline no sample has a replacement for.
FactGenResults fact_gen(const lm::LoadedModel& model, const FactGenOptions& options);

// METHOD §8.15 on fact-gen's metrics (metrics[<layer>] with "paraphrase" and "generation", as
// FactGenResults::metrics): the harmonic mean of the paraphrase score, the generation consistency and
// fluency (raw bits, as the original) per layer, and the best layer (eval::select_layer: the first of
// `layers` on a tie, -1 when every score is NaN). Throws nlohmann::json's out_of_range when a layer
// lacks one of them.
nlohmann::json fact_gen_layer_selection(const std::vector<std::int64_t>& layers,
                                        const nlohmann::json& metrics);

}  // namespace remedi::evaluate
