// `remedi generate-directions`: the direction dump of METHOD §8.13 (for norm analyses and PCA plots),
// computed by evaluate::generate_directions (src/evaluate/directions.h, which lists the files it
// writes). Writes an args file and prints where each editor's dump went.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/directions.h"

namespace remedi::cli {

void register_generate_directions(CLI::App& app) {
  auto a = std::make_shared<evaluate::DirectionsOptions>();
  auto* cmd = app.add_subcommand(
      "generate-directions",
      "Dump editor directions, attribute representations and entity hidden states (pre/post edit)");
  add_eval_options(*cmd, *a);
  cmd->add_option("-d,--dataset", a->data.dataset, "counterfact, biosbias, mcrae, winoventi")
      ->capture_default_str();
  CLI::Option* rows = cmd->get_option("--rows");
  rows->description("Rows to dump (HF split syntax); instead of --size");
  rows->default_str("");
  CLI::Option* size =
      cmd->add_option("--size", a->size, "Rows [5000, 5000 + SIZE) of the data set")->capture_default_str();
  size->excludes(rows);
  size->excludes(cmd->get_option("--small"));
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, dist_flags] {
    const bool reports = join_eval_group(*a, *dist_flags);  // rank 0 alone reports
    const evaluate::DirectionsResults results = evaluate::generate_directions(load_eval_model(*a), *a);
    if (!reports) return;
    nlohmann::json args = eval_options_json(*a);
    args["rows"] = results.rows;
    args["size"] = a->size;
    args["dataset"] = a->data.dataset;
    write_args_file(results.experiment, args);
    std::cout << results.summary(a->type).dump(2) << "\n";
  });
}

}  // namespace remedi::cli
