#include "common.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "data/text.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

// Adds to `option` a check that throws remedi::Error("<argument>", <option name>, reason) when
// `reason_for` gives a non-empty reason for the text given: one line and exit 2, where CLI11's own
// message adds a second line pointing at --help. Text the check lets through is CLI11's to convert.
CLI::Option* refuse_when(CLI::Option* option, const std::string& tag,
                         std::function<std::string(const std::string&)> reason_for) {
  const std::string name = option->get_name();
  return option->check(CLI::Validator(
      [name, reason_for = std::move(reason_for)](const std::string& value) {
        const std::string reason = reason_for(value);
        if (!reason.empty()) throw Error("<argument>", name, reason);
        return std::string();
      },
      tag));
}

// The number at the start of `text`, if it starts with one.
std::optional<double> leading_number(const std::string& text) {
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) return std::nullopt;
  return number;
}

}  // namespace

CLI::Option* require_row_selector(CLI::Option* option) {
  return refuse_when(option, "ROWS", [](const std::string& value) {
    return data::strip_whitespace(value).empty()
               ? std::string("is empty: give rows such as train[:100], or leave the option out for every row")
               : std::string();
  });
}

CLI::Option* require_finite(CLI::Option* option) {
  return refuse_when(option, "FINITE", [](const std::string& value) {
    const std::optional<double> number = leading_number(value);
    return number && !std::isfinite(*number) ? "must be a finite number, got " + value : std::string();
  });
}

CLI::Option* require_non_negative(CLI::Option* option) {
  return refuse_when(option, "NON-NEGATIVE", [](const std::string& value) {
    const std::optional<double> number = leading_number(value);
    return number && *number < 0 ? "must be >= 0, got " + value : std::string();
  });
}

void add_eval_options(CLI::App& cmd, EvalOptions& o) {
  cmd.add_option("-n,--experiment-name", o.name, "Experiment folder under the results dir")->required();
  cmd.add_option("-m,--model", o.model, "smollm2, gpt2, gpt2-xl, gptj, neox, or a path")
      ->capture_default_str();
  cmd.add_option(
      "-e,--editors-dir", o.editors,
      "Training experiment folder (results/<name>), or the name of an editor shipped in data/editors");
  cmd.add_option("-t,--editor-type", o.type, "Editor type (identity and null need no files)")
      ->capture_default_str();
  cmd.add_option("-l,--layers", o.layers, "Editor layers (default: every saved one)");
  cmd.add_option(
      "-f,--dataset-file", o.data.file,
      "Input file or folder of the " + o.data.dataset + " data (default: under $REMEDI_DATA, else data/)");
  require_row_selector(cmd.add_option("--rows", o.data.split, "Evaluation rows")->capture_default_str());
  cmd.add_flag("--small", o.small, "Rows [5000, 6000) (the layer sweeps' subset)");
  cmd.add_flag("--attribute-no-entity", o.attribute_no_entity, "Encode the attribute alone");
  cmd.add_option("--seed", o.data.seed, "Seed of every random choice (sampling, shuffles, replacements)")
      ->capture_default_str();
  cmd.add_option("--batch-size", o.batch_size, "Prompts per batch")->capture_default_str();
  cmd.add_option("--device", o.device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd.add_option("--dtype", o.dtype, kInferenceDtypes)->capture_default_str();
  cmd.add_option("--results-dir", o.results, "Results root (default $REMEDI_RESULTS or ./results)");
  cmd.add_flag("-q,--quiet", o.quiet, "No progress output");
}

void add_classification_options(CLI::App& cmd, ClassificationOptions& o) {
  add_eval_options(cmd, o);
  cmd.add_option("--entity-layers,--entity-layer", o.entity_layers,
                 "Layers whose entity representation is scored (default: editor layer to the last)");
  cmd.add_flag("--control-task", o.control_task, "Shuffle the labels (seeded with --seed)");
  cmd.add_flag("--control-model", o.control_model,
               "Name the outputs *_control_model (use with -m <random-init-model output>)");
  cmd.add_flag("--no-normalize", o.no_normalize, "Skip the z-scoring of entity vectors and directions");
  cmd.add_option("--similarity", o.similarity, "dot | cosine")->capture_default_str();
}

void add_dist_options(CLI::App& cmd, DistFlags& flags) {
  cmd.add_option("--dist-backend", flags.backend,
                 "Process-group backend under torchrun (gloo; see docs/DISTRIBUTED.md)")
      ->capture_default_str();
  require_non_negative(cmd.add_option("--dist-timeout", flags.timeout_seconds,
                                      "Seconds a rank waits for the others before it fails")
                           ->capture_default_str());
}

std::shared_ptr<dist::Group> join_group(const DistFlags& flags) {
  if (!(flags.timeout_seconds > 0)) throw Error("<argument>", "--dist-timeout", "must be positive");
  dist::Options options;
  options.backend = flags.backend;
  options.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.timeout_seconds * 1000));
  return dist::Group::from_environment(options);
}

std::string rank_device(const std::string& device, const dist::Group* group) {
  if (group == nullptr || device != "cuda") return device;
  return "cuda:" + std::to_string(group->local_rank());
}

bool join_eval_group(EvalOptions& options, const DistFlags& flags) {
  options.group = join_group(flags);
  const bool reports = dist::root(options.group.get());
  if (!reports) options.quiet = true;
  return reports;
}

lm::LoadedModel load_eval_model(const EvalOptions& options) {
  return lm::load_model(options.model,
                        lm::load_options(rank_device(options.device, options.group.get()), options.dtype));
}

}  // namespace remedi::cli
