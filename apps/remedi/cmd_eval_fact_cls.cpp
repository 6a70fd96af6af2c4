// `remedi eval fact-cls` (also `eval-fact-cls`): CounterFact factual-error classification (METHOD §8.8),
// computed by evaluate::fact_cls (src/evaluate/fact_cls.h, which lists the files it writes). Writes an
// args file beside the results and prints the summary: every pair's accuracy, F1 and MCC and the best
// entity layer per editor layer.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/fact_cls.h"

namespace remedi::cli {

void register_eval_fact_cls(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<ClassificationOptions>();
  auto* cmd =
      app.add_subcommand(name, "CounterFact factual-error classification: contextual and decontextual");
  add_classification_options(*cmd, *a);
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, dist_flags] {
    const bool reports = join_eval_group(*a, *dist_flags);  // rank 0 alone reports
    const evaluate::FactClsResults results = evaluate::fact_cls(load_eval_model(*a), *a);
    if (!reports) return;
    write_args_file(results.experiment, classification_options_json(*a));
    std::cout << results.summary().dump(2) << "\n";
  });
}

}  // namespace remedi::cli
