// `remedi eval bias-gen` (also `eval-bias-gen`): Bias in Bios error correction by generation
// (METHOD §8.9), computed by evaluate::bias_gen (src/evaluate/bias_gen.h, which lists the files it
// writes): the unedited baseline and, when -e, -t or -l is given, each editor. Writes an args file and
// prints the summary.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "evaluate/bias_gen.h"

namespace remedi::cli {

namespace {

nlohmann::json args_json(const evaluate::BiasGenOptions& a) {
  nlohmann::json args = eval_options_json(a);
  args["decontextualized"] = a.decontextualized;
  args["max_length"] = a.max_length;
  args["max_new_tokens"] = a.max_new_tokens;
  args["top_k"] = evaluate::kBiasGenSamplingTopK;
  args["k"] = evaluate::kBiasGenTopPredictions;
  args["baseline_only"] = !a.run_editors;
  return args;
}

}  // namespace

void register_eval_bias_gen(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<evaluate::BiasGenOptions>();
  auto* cmd = app.add_subcommand(
      name,
      "Bias in Bios error correction by generation: unedited baseline and editors (docs/METHOD.md 8.9)");
  add_eval_options(*cmd, *a);
  cmd->add_flag("--decontextualized", a->decontextualized,
                "Prompt without the bio: '<first> has the occupation of' (default: after the bio)");
  cmd->add_option("--max-length", a->max_length,
                  "Total tokens per row including the left-padded prompt (docs/METHOD.md Q12)")
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", a->max_new_tokens,
                  "If positive, new tokens per row whatever the prompts' width (overrides --max-length)")
      ->capture_default_str();
  auto dist_flags = std::make_shared<DistFlags>();
  add_dist_options(*cmd, *dist_flags);
  cmd->callback([a, cmd, dist_flags] {
    // Without -e, -t or -l only the unedited baseline runs.
    a->run_editors = cmd->count("--editors-dir") + cmd->count("--editor-type") + cmd->count("--layers") > 0;
    const bool reports = join_eval_group(*a, *dist_flags);  // rank 0 alone reports
    const evaluate::BiasGenResults results = evaluate::bias_gen(load_eval_model(*a), *a);
    if (!reports) return;
    write_args_file(results.experiment, args_json(*a));
    std::cout << results.summary(a->type).dump(2) << "\n";
  });
}

}  // namespace remedi::cli
