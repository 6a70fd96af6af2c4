// What the subcommands share on the command line: value checks on flags and the flags of the
// evaluations. Everything else they share is library code (evaluate/setup.h), brought into this
// namespace so the commands name it briefly.
#pragma once

#include <memory>
#include <string>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "remedi/distributed.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace remedi::cli {

using evaluate::aggregate_json;
using evaluate::classification_options_json;
using evaluate::ClassificationOptions;
using evaluate::control_suffix;
using evaluate::data_dir;
using evaluate::editors_dir;
using evaluate::entity_layers_for;
using evaluate::eval_options_json;
using evaluate::EvalOptions;
using evaluate::finished_metrics;
using evaluate::load_eval_editors;
using evaluate::load_eval_samples;
using evaluate::load_samples;
using evaluate::LoadedEditors;
using evaluate::parse_similarity;
using evaluate::results_dir;
using evaluate::SampleSource;
using evaluate::write_args_file;
using evaluate::write_json;

// The model an evaluation's -m, --device and --dtype name (lm::load_model).
// --dtype's help for commands that run the model without training it (lm::load_options).
inline constexpr const char* kInferenceDtypes =
    "fp32 | bf16 | fp16 | q8_0 | q4_0 | q4_1 (quantized weights, CPU)";

// In a process group (options.group), "cuda" is this rank's GPU (rank_device).
lm::LoadedModel load_eval_model(const EvalOptions& options);

// Refuses an empty row selector (`--rows ''`), which would otherwise mean every row: a row option
// left out selects every row, one given must select something explicitly. Returns `option`.
CLI::Option* require_row_selector(CLI::Option* option);

// Refuse "nan", "inf" (require_finite) or a negative number (require_non_negative) given to `option`,
// with a one-line remedi error naming it. Returns `option`.
CLI::Option* require_finite(CLI::Option* option);
CLI::Option* require_non_negative(CLI::Option* option);

// --dist-backend and --dist-timeout: how a command started by torchrun (or with RANK, WORLD_SIZE, ...
// set) joins its process group (docs/DISTRIBUTED.md).
struct DistFlags {
  std::string backend = "gloo";
  double timeout_seconds = 300;
};
void add_dist_options(CLI::App& cmd, DistFlags& flags);
// The environment's process group, or nullptr for one process (remedi::dist::Group::from_environment).
std::shared_ptr<dist::Group> join_group(const DistFlags& flags);
// What an evaluation command started by torchrun does before it loads its model: joins the group
// (options.group; null for one process) and makes every rank but 0 quiet. Returns whether this process
// reports: rank 0 (or the only process) alone prints the summary and writes the args file, as the
// evaluation writes its results (evaluate/sharded.h).
bool join_eval_group(EvalOptions& options, const DistFlags& flags);
// `device` for this rank: "cuda" becomes "cuda:<LOCAL_RANK>" in a process group, so that the ranks
// of one node take one GPU each.
std::string rank_device(const std::string& device, const dist::Group* group);

// The flags of evaluate::EvalOptions: -n, -m, -e, -t, -l, -f, --rows, --small, ...
void add_eval_options(CLI::App& cmd, EvalOptions& options);
// add_eval_options plus --entity-layers (alias --entity-layer), --control-task, --control-model,
// --no-normalize, --similarity.
void add_classification_options(CLI::App& cmd, ClassificationOptions& options);

}  // namespace remedi::cli
