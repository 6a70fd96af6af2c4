// `remedi eval fact-mediation` (also `eval-fact-mediation`): how often the unedited LM knows a
// CounterFact fact and how often it follows a context that contradicts it (METHOD §8.12, the intended
// behaviour; the original cannot run, METHOD Q22 in docs/DEVIATIONS.md). Per sample, at the end of the
// prompt:
//   decontextual: "knows" = logp(tok1(target_true) | prompt) > logp(tok1(target_new) | prompt)
//   contextual: "follows context" = logp(tok1(target_new) | prompt-in-context) >
//               logp(tok1(target_true) | prompt-in-context)
// plus the top-3 next tokens of both. Writes <results>/<name>/mediation.json (per sample) and
// mediation_metrics.json (accuracies with bootstrap CIs, printed on stdout), plus an args file.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "eval/metrics.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/scoring.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

constexpr std::int64_t kTopTokens = 3;  // METHOD §8.12

// One task's record of row `i`: both log-probs, the verdict under `verdict`, the top tokens.
nlohmann::json task_record(const tok::Tokenizer& tokenizer, const TargetScores& scores, std::int64_t i,
                           const std::string& verdict, bool value) {
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json logps = nlohmann::json::array();
  for (std::int64_t k = 0; k < scores.top_ids.size(1); ++k) {
    tokens.push_back(tokenizer.decode({scores.top_ids[i][k].item<std::int64_t>()}));
    logps.push_back(scores.top_logp[i][k].item<double>());
  }
  return {{"logp_true", scores.unmediated_logp[i].item<double>()},
          {"logp_new", scores.mediated_logp[i].item<double>()},
          {verdict, value},
          {"top_tokens", tokens},
          {"top_logps", logps}};
}

void run(const EvalOptions& a, bool editor_type_given) {
  // The unedited LM only: editor flags would silently do nothing, so they are refused.
  if (!a.layers.empty() || !a.editors.empty() || editor_type_given) {
    throw Error("<argument>", "--layers/--editors-dir/--editor-type",
                "fact-mediation runs the unedited LM and takes no editor");
  }
  // In CounterFact target_mediated is the new object and target_unmediated the true one.
  const std::vector<data::MediationSample> samples = load_eval_samples(a);
  std::vector<data::MediationSample> in_context = samples;
  for (data::MediationSample& s : in_context) s.prompt = data::prompt_in_context(s);
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  write_args_file(experiment, eval_options_json(a));
  ScoringOptions options;
  options.batch_size = a.batch_size;
  options.top_k = kTopTokens;
  options.progress = !a.quiet;
  options.allow_missing_entity = true;  // nothing is edited, so the entity need not be located
  const TargetScores bare = score_targets(*model, tokenizer, nullptr, samples, options);
  const TargetScores contextual = score_targets(*model, tokenizer, nullptr, in_context, options);
  nlohmann::json records = nlohmann::json::array();
  std::vector<double> knows;
  std::vector<double> follows;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    const bool k = bare.unmediated_logp[row].item<double>() > bare.mediated_logp[row].item<double>();
    const bool f =
        contextual.mediated_logp[row].item<double>() > contextual.unmediated_logp[row].item<double>();
    knows.push_back(k ? 1.0 : 0.0);
    follows.push_back(f ? 1.0 : 0.0);
    const data::MediationSample& s = samples[i];
    records.push_back({{"id", s.id},
                       {"entity", s.entity},
                       {"prompt", s.prompt},
                       {"context", s.context},
                       {"prompt_in_context", in_context[i].prompt},
                       {"target_true", *s.target_unmediated},
                       {"target_new", s.target_mediated},
                       {"decontextual", task_record(tokenizer, bare, row, "knows", k)},
                       {"contextual", task_record(tokenizer, contextual, row, "follows_context", f)}});
  }
  const nlohmann::json metrics = {
      {"decontextual", {{"accuracy", aggregate_json(eval::aggregate(knows, true))}}},
      {"contextual", {{"accuracy", aggregate_json(eval::aggregate(follows, true))}}},
      {"samples", samples.size()}};
  // Records first: a metrics file is only ever next to the records it summarises.
  write_json((std::filesystem::path(experiment) / "mediation.json").string(), records);
  write_json((std::filesystem::path(experiment) / "mediation_metrics.json").string(), metrics);
  std::cout << metrics.dump(2) << "\n";
}

}  // namespace

void register_eval_fact_mediation(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand(
      name, "CounterFact mediation with the unedited LM: does it know the fact, does it follow context");
  add_eval_options(*cmd, *a);
  const CLI::Option* type = cmd->get_option("--editor-type");
  cmd->callback([a, type] { run(*a, type->count() > 0); });
}

}  // namespace remedi::cli
