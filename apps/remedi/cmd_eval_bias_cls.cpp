// `remedi eval bias-cls` (also `eval-bias-cls`): Bias in Bios occupation-error classification
// ("Bios-Med", METHOD §8.10), computed by evaluate::bias_cls (src/evaluate/bias_cls.h, which lists the
// files it writes). Writes an args file when something was computed and prints the summary: every
// pair's headline numbers and the best entity layer per editor layer.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/bias_cls.h"

namespace remedi::cli {

void register_eval_bias_cls(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<evaluate::BiasClsOptions>();
  auto* cmd = app.add_subcommand(name, "Bias in Bios occupation-error classification (Bios-Med)");
  add_classification_options(*cmd, *a);
  cmd->add_flag(
      "--symmetric", a->symmetric,
      "Every label's direction from 'has the occupation of <label>', the gold one too (docs/METHOD.md Q18 "
      "variant; outputs *_symmetric)");
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, dist_flags] {
    const bool reports = join_eval_group(*a, *dist_flags);  // rank 0 alone reports
    const evaluate::BiasClsResults results = evaluate::bias_cls(load_eval_model(*a), *a);
    if (!reports) return;
    if (results.computed) {
      nlohmann::json args = classification_options_json(*a);
      args["dataset"] = a->data.dataset;
      args["symmetric"] = a->symmetric;
      write_args_file(results.experiment, args);
    }
    std::cout << results.summary().dump(2) << "\n";
  });
}

}  // namespace remedi::cli
