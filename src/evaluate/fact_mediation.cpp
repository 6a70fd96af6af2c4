#include "evaluate/fact_mediation.h"

#include <torch/torch.h>

#include <vector>

#include "data/derived.h"
#include "eval/metrics.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "remedi/scoring.h"

namespace remedi::evaluate {

namespace {

constexpr std::int64_t kTopTokens = 3;  // METHOD §8.12
constexpr const char* kStem = "mediation";

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

FactMediationResults fact_mediation_body(const lm::LoadedModel& model, const EvalOptions& a) {
  // In CounterFact target_mediated is the new object and target_unmediated the true one.
  const std::vector<data::MediationSample> samples = load_eval_samples(a);
  std::vector<data::MediationSample> in_context = samples;
  for (data::MediationSample& s : in_context) s.prompt = data::prompt_in_context(s);
  ScoringOptions options;
  options.batch_size = a.batch_size;
  options.top_k = kTopTokens;
  options.progress = !a.quiet;
  options.allow_missing_entity = true;  // nothing is edited, so the entity need not be located
  dist::Group* group = a.group.get();   // each rank scores its batches; rank 0 writes
  const TargetScores bare = sharded_scores(group, model.lm(), model.tok(), nullptr, samples, options);
  const TargetScores contextual =
      sharded_scores(group, model.lm(), model.tok(), nullptr, in_context, options);
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
                       {"decontextual", task_record(model.tok(), bare, row, "knows", k)},
                       {"contextual", task_record(model.tok(), contextual, row, "follows_context", f)}});
  }
  const eval::Aggregate knows_rate = eval::aggregate(knows, true);
  const eval::Aggregate follows_rate = eval::aggregate(follows, true);
  FactMediationResults results;
  results.experiment = experiment_folder(a);
  results.knows = knows_rate.mean;
  results.follows = follows_rate.mean;
  results.metrics = {{"decontextual", {{"accuracy", aggregate_json(knows_rate)}}},
                     {"contextual", {{"accuracy", aggregate_json(follows_rate)}}},
                     {"samples", samples.size()}};
  // Records first: a metrics file is only ever next to the records it summarises.
  if (writes(group)) {
    write_json(eval::records_file(results.experiment, kStem), records);
    write_json(eval::metrics_file(results.experiment, kStem), results.metrics);
  }
  return results;
}

}  // namespace

FactMediationResults fact_mediation(const lm::LoadedModel& model, const EvalOptions& a) {
  return naming_data_file(sample_source_file(a.data), [&] { return fact_mediation_body(model, a); });
}

}  // namespace remedi::evaluate
