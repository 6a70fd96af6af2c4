// CounterFact mediation with the unedited LM (METHOD §8.12, `remedi eval fact-mediation`; the intended
// behaviour, the original cannot run: METHOD Q22 in docs/DEVIATIONS.md): how often the LM knows a fact,
// and how often it follows a context that contradicts it. Per sample, at the end of the prompt:
//   decontextual: knows            = logp(tok1(target_true) | prompt) > logp(tok1(target_new) | prompt)
//   contextual:   follows_context  = logp(tok1(target_new) | prompt-in-context)
//                                    > logp(tok1(target_true) | prompt-in-context)
// plus the top-3 next tokens of both (target_new is the sample's target_mediated, target_true its
// target_unmediated).
//
// Files under <results>/<name>/ (eval/results_layout.h):
//   mediation.json          per sample: id, entity, prompt, context, prompt_in_context, target_true,
//                           target_new, and per task logp_true, logp_new, the verdict, top_tokens,
//                           top_logps
//   mediation_metrics.json  {decontextual: {accuracy}, contextual: {accuracy}, samples}, each accuracy
//                           {mean, std, ci95} over the 0/1 verdicts
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi::evaluate {

struct FactMediationResults {
  std::string experiment;  // <results>/<name>
  double knows = 0.0;      // decontextual accuracy: the share of samples whose true object the LM prefers
  double follows = 0.0;    // contextual accuracy: the share whose new object it prefers after the context
  nlohmann::json metrics;  // the metrics file's object (what `remedi eval fact-mediation` prints)
};

// Scores options' CounterFact rows (every one needs a true object) with the unedited LM; the editor
// fields of `options` (editors, type, layers) are not used. Writes the files above (the records first)
// and shows progress on stderr unless options.quiet. Throws remedi::Error naming --rows or
// --batch-size for a bad row selection, or the sample whose target has no tokens.
FactMediationResults fact_mediation(const lm::LoadedModel& model, const EvalOptions& options);

}  // namespace remedi::evaluate
