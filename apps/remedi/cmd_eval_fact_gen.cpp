// `remedi eval fact-gen` (also `eval-fact-gen`): the CounterFact editing benchmarks of trained editors
// (efficacy, paraphrase, neighbourhood, generation, essence; METHOD §8.2-8.6) or of the prefix and
// replace baselines (METHOD §8.7), run by evaluate::fact_gen (evaluate/fact_gen.h, which says what
// files it writes); prints its summary as JSON.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/fact_gen.h"
#include "lm/loaded_model.h"
#include "lm/model.h"

namespace remedi::cli {

namespace {

void run(evaluate::FactGenOptions options, const DistFlags& dist_flags) {
  evaluate::check_fact_gen_options(options);                  // bad flags fail before the model loads
  const bool reports = join_eval_group(options, dist_flags);  // rank 0 alone reports
  const evaluate::FactGenResults results = evaluate::fact_gen(load_eval_model(options), options);
  if (reports) std::cout << results.summary().dump(2) << "\n";
}

}  // namespace

void register_eval_fact_gen(CLI::App& app, const std::string& name) {
  auto options = std::make_shared<evaluate::FactGenOptions>();
  auto* cmd = app.add_subcommand(
      name, "CounterFact editing benchmarks: efficacy, paraphrase, neighborhood, generation, essence");
  add_eval_options(*cmd, *options);
  cmd->add_option("-b,--benchmarks", options->benchmarks,
                  "efficacy, paraphrase, neighborhood, generation, essence")
      ->capture_default_str();
  cmd->add_option("--baseline", options->baseline,
                  "prefix (context before the prompt) or replace (another subject with the new object), "
                  "with the unedited LM; no --layers or --editors-dir");
  cmd->add_option("--max-length", options->max_length,
                  "Generation: total tokens per row including the left-padded prompt (docs/METHOD.md Q12)")
      ->capture_default_str();
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([options, dist_flags] { run(*options, *dist_flags); });
}

}  // namespace remedi::cli
