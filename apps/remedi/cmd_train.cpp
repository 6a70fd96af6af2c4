// `remedi train`: train REMEDI editors (METHOD §7, the original's train_editors flags, §9.3) with
// remedi::train_editors (remedi/train_run.h). Editors land in <results>/<experiment>/<type>/<layer>/
// (editor.json + editor.safetensors); a checkpoint beside them after every epoch lets --resume
// continue a killed run. Prints {experiment, editors: [...]}.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "common.h"
#include "lm/loaded_model.h"
#include "remedi/train_run.h"

namespace remedi::cli {

namespace {

void run(TrainRunOptions o, const DistFlags& dist_flags, const std::string& parallel) {
  check_train_run_options(o);
  o.parallel = parse_parallel(parallel);
  o.group = join_group(dist_flags);
  // Rank 0 alone reports; the others only train.
  const bool reports = dist::root(o.group.get());
  if (!reports) o.quiet = true;
  const TrainSamples samples = select_train_samples(o);
  const lm::LoadedModel model =
      lm::load_model(o.model, lm::load_options(rank_device(o.device, o.group.get()), o.dtype));
  const auto show = [&](const TrainRunEvent& event) {
    if (o.quiet) return;
    const std::string editor = event.type + "/" + std::to_string(event.layer);
    if (event.kind == TrainRunEvent::Kind::Started) {
      std::cerr << "train: " << samples.train.size() << " samples, validation: " << samples.validation.size()
                << " (hold-out " << o.hold_out << ", seed " << o.seed << "), model " << model.path << "\n";
    } else if (event.kind == TrainRunEvent::Kind::Skipped) {
      std::cerr << editor << ": already trained, skipped (--resume)\n";
    } else if (event.kind == TrainRunEvent::Kind::Saved) {
      std::cerr << editor << ": saved " << event.folder << "\n";
    }
  };
  const TrainRunResult result = train_editors(model, o, samples, show);
  if (reports) std::cout << train_run_summary_json(result).dump(2) << "\n";
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainRunOptions>();
  a->model = "smollm2";
  auto* cmd = app.add_subcommand("train", "Train REMEDI editors (the original's train_editors)");
  cmd->add_option("-n,--experiment-name", a->name, "Experiment folder under the results dir")->required();
  cmd->add_option("-m,--model", a->model, "smollm2, gpt2, gpt2-xl, gptj, neox, or a path")
      ->capture_default_str();
  cmd->add_option("-d,--dataset", a->data.dataset, "counterfact, biosbias, mcrae, winoventi, samples")
      ->capture_default_str();
  cmd->add_option("-f,--dataset-file", a->data.file, "Input file or folder (default: the data set's)");
  require_row_selector(
      cmd->add_option("--rows", a->data.split, "Rows of the data set to use (HF split syntax)")
          ->capture_default_str());
  cmd->add_option("--train-size", a->train_size, "Use only the first N selected rows (0: all)")
      ->capture_default_str();
  cmd->add_option("-l,--layers", a->layers, "Edit layers (default: every layer)");
  cmd->add_option("-t,--editor-types", a->types,
                  "Editor types: linear biaffine mlp random scalar identity null")
      ->capture_default_str();
  cmd->add_option("--lam-m", a->lam_m, "Weight of the mediated-target loss")->capture_default_str();
  cmd->add_option("--lam-u", a->lam_u,
                  "Weight of the unmediated-target loss (default 1; unset for biosbias, mcrae)");
  cmd->add_option("--lam-kl", a->lam_kl, "Weight of the KL preservation loss")->capture_default_str();
  cmd->add_option("--lam-norm", a->lam_norm, "Weight of the direction-norm loss (default off)");
  cmd->add_option("--lam-ess", a->lam_ess, "Weight of the essence-preservation loss (default off)");
  cmd->add_option("--lr", a->lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--adam-eps", a->adam_eps, "AdamW epsilon (the original uses 1e-4 with fp16)")
      ->capture_default_str();
  cmd->add_option("--batch-size", a->batch_size, "Samples per batch")->capture_default_str();
  cmd->add_option("--max-epochs", a->max_epochs, "Training epochs after the measuring epoch 0")
      ->capture_default_str();
  cmd->add_option("--patience", a->patience, "Early-stopping patience (epochs)")->capture_default_str();
  cmd->add_option("--hold-out", a->hold_out, "Validation fraction of the rows")->capture_default_str();
  cmd->add_flag("--use-entity", a->use_entity, "Linear/mlp editors also read the entity");
  cmd->add_flag("--use-all-entity-tokens", a->use_all_entity_tokens, "Average and edit every entity token");
  cmd->add_flag("--attribute-no-entity", a->attribute_no_entity,
                "Encode the attribute alone (context := attribute)");
  cmd->add_option("--rank", a->rank, "Linear editor rank (0: full)")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the hold-out split and editor initialisation")
      ->capture_default_str();
  cmd->add_option("--results-dir", a->results, "Results root (default $REMEDI_RESULTS or ./results)");
  cmd->add_option("--cache-dir", a->cache_dir, "Cache precomputed editor inputs here");
  cmd->add_option("--prefix-cache-mib", a->prefix_cache_mib,
                  "Memory for keeping the keys and values before each batch's edits across epochs "
                  "(faster, same results; 0: recompute them every step)")
      ->capture_default_str();
  cmd->add_flag("--resume", a->resume, "Skip saved editors and continue a killed run from its checkpoint");
  cmd->add_flag("--clear-results-dir", a->clear, "Delete the experiment folder first");
  cmd->add_flag(
      "--reference-mode", a->reference_mode,
      "Compute as the original does (full forwards, all logits, LM weight gradients) instead of the "
      "efficient path");
  cmd->add_flag("--faithful", a->faithful,
                "Reproduce quirks Q1 (KL of the last row) and Q2 (save the last epoch)");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress output");
  auto dist_flags = std::make_shared<DistFlags>();
  auto parallel = std::make_shared<std::string>("data");
  add_dist_options(*cmd, *dist_flags);
  cmd->add_option("--parallel", *parallel,
                  "Under torchrun: data (each rank takes part of every batch) or layers (editors dealt to "
                  "the ranks)")
      ->capture_default_str();
  cmd->callback([a, dist_flags, parallel] { run(*a, *dist_flags, *parallel); });
}

}  // namespace remedi::cli
