// `remedi eval entailment` (also `eval-entailment`): the McRae entailment benchmark (METHOD §8.11),
// computed by evaluate::entailment (src/evaluate/entailment.h, which lists the files it writes). A run
// whose results all exist is reported without loading the model. Writes an args file when something
// was computed and prints the summary.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/entailment.h"

namespace remedi::cli {

namespace {

void run(evaluate::EntailmentOptions a, const DistFlags& dist_flags) {
  const bool reports = join_eval_group(a, dist_flags);  // rank 0 alone reports
  std::optional<evaluate::EntailmentResults> results = evaluate::finished_entailment(a);
  if (!results) {
    results = evaluate::entailment(load_eval_model(a), a);
    if (results->computed && reports) {
      nlohmann::json args = eval_options_json(a);
      args["dataset"] = a.data.dataset;
      args["dataset_file"] = results->dataset_file;
      args["cmudict"] = a.data.cmudict;
      args["baseline"] = a.baseline;
      args["target_span"] = a.target_first_occurrence ? "first_occurrence" : "suffix";
      write_args_file(results->experiment, args);
    }
  }
  if (reports) std::cout << results->summary(a.type).dump(2) << "\n";
}

}  // namespace

void register_eval_entailment(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<evaluate::EntailmentOptions>();
  auto* cmd = app.add_subcommand(
      name, "McRae entailment: do edits move the features the norms say co-occur with the stated one?");
  add_eval_options(*cmd, *a);
  cmd->add_option("--cmudict", a->data.cmudict,
                  "CMU pronouncing dictionary for the articles (default: spelling rules, docs/DATA.md)");
  cmd->add_option(
      "--baseline", a->baseline,
      "prefix (the context before the co and original prompts), with the unedited LM; no --layers "
      "or --editors-dir");
  cmd->add_flag("--faithful-target-span", a->target_first_occurrence,
                "Score the target's first occurrence in the sequence, as the original (docs/METHOD.md Q8), "
                "not its suffix");
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, dist_flags] { run(*a, *dist_flags); });
}

}  // namespace remedi::cli
