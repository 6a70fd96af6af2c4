// `remedi eval fact-mediation` (also `eval-fact-mediation`): how often the unedited LM knows a
// CounterFact fact and how often it follows a context that contradicts it (METHOD §8.12), computed by
// evaluate::fact_mediation (src/evaluate/fact_mediation.h, which lists the files it writes). Writes an
// args file and prints the metrics.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/fact_mediation.h"
#include "util/error.h"

namespace remedi::cli {

void register_eval_fact_mediation(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand(
      name, "CounterFact mediation with the unedited LM: does it know the fact, does it follow context");
  add_eval_options(*cmd, *a);
  const CLI::Option* type = cmd->get_option("--editor-type");
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, type, dist_flags] {
    // The unedited LM only: editor flags would silently do nothing, so they are refused.
    if (!a->layers.empty() || !a->editors.empty() || type->count() > 0) {
      throw Error("<argument>", "--layers/--editors-dir/--editor-type",
                  "fact-mediation runs the unedited LM and takes no editor");
    }
    const bool reports = join_eval_group(*a, *dist_flags);  // rank 0 alone reports
    const evaluate::FactMediationResults results = evaluate::fact_mediation(load_eval_model(*a), *a);
    if (!reports) return;
    write_args_file(results.experiment, eval_options_json(*a));
    std::cout << results.metrics.dump(2) << "\n";
  });
}

}  // namespace remedi::cli
