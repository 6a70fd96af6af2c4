// `remedi train`: train REMEDI editors (METHOD §7, the original's train_editors flags, §9.3). Editors
// land in <results>/<experiment>/<type>/<layer>/ (editor.json + editor.safetensors); a checkpoint
// beside them after every epoch lets --resume continue a killed run.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "data/splits.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "remedi/trainer.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct TrainArgs {
  std::string name;
  std::string model = "smollm2";
  SampleSource data{"counterfact", "", "train[:5000]", "", 123456};
  std::int64_t train_size = 0;
  std::vector<std::int64_t> layers;
  std::vector<std::string> types{"linear"};
  double lam_m = 1.0;
  std::optional<double> lam_u;
  double lam_kl = 10.0;
  std::optional<double> lam_norm;
  std::optional<double> lam_ess;
  double lr = 1e-3;
  double adam_eps = 1e-8;
  std::int64_t batch_size = 16;
  std::int64_t max_epochs = 20;
  std::int64_t patience = 2;
  double hold_out = 0.1;
  bool use_entity = false;
  bool use_all_entity_tokens = false;
  bool attribute_no_entity = false;
  std::int64_t rank = 0;
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::uint64_t seed = 123456;
  std::string results;
  std::string cache_dir;
  bool resume = false;
  bool clear = false;
  bool reference_mode = false;
  bool faithful = false;
  bool quiet = false;
};

nlohmann::json args_json(const TrainArgs& a) {
  const auto optional_json = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return {{"experiment_name", a.name},
          {"model", a.model},
          {"dataset", a.data.dataset},
          {"dataset_file", a.data.file},
          {"rows", a.data.split},
          {"train_size", a.train_size},
          {"layers", a.layers},
          {"editor_types", a.types},
          {"lam_m", a.lam_m},
          {"lam_u", optional_json(a.lam_u)},
          {"lam_kl", a.lam_kl},
          {"lam_norm", optional_json(a.lam_norm)},
          {"lam_ess", optional_json(a.lam_ess)},
          {"lr", a.lr},
          {"adam_eps", a.adam_eps},
          {"batch_size", a.batch_size},
          {"max_epochs", a.max_epochs},
          {"patience", a.patience},
          {"hold_out", a.hold_out},
          {"use_entity", a.use_entity},
          {"use_all_entity_tokens", a.use_all_entity_tokens},
          {"attribute_no_entity", a.attribute_no_entity},
          {"rank", a.rank},
          {"device", a.device},
          {"dtype", a.dtype},
          {"seed", a.seed},
          {"reference_mode", a.reference_mode},
          {"faithful", a.faithful}};
}

nlohmann::json report_json(const TrainReport& report) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const EpochRecord& r : report.epochs) {
    epochs.push_back({{"epoch", r.epoch},
                      {"train_loss", r.train_loss},
                      {"validation_loss", r.validation_loss},
                      {"validation_terms", r.validation_terms},
                      {"improved", r.improved},
                      {"seconds", r.seconds}});
  }
  return {{"best_epoch", report.best_epoch},
          {"best_validation_loss", report.best_validation_loss},
          {"stopped_early", report.stopped_early},
          {"epochs", epochs}};
}

void validate(const TrainArgs& a) {
  if (a.batch_size <= 0) throw Error("<argument>", "--batch-size", "must be positive");
  if (a.max_epochs < 0) throw Error("<argument>", "--max-epochs", "must be >= 0");
  if (a.patience < 0) throw Error("<argument>", "--patience", "must be >= 0");
  if (!(a.hold_out > 0 && a.hold_out < 1)) throw Error("<argument>", "--hold-out", "must be in (0, 1)");
  if (!(a.lr > 0)) throw Error("<argument>", "--lr", "must be positive");
  if (a.train_size < 0) throw Error("<argument>", "--train-size", "must be >= 0");
  for (const std::string& type : a.types) {
    if (std::find(editor_types().begin(), editor_types().end(), type) == editor_types().end()) {
      make_editor({type, 0, 1}, 0);  // throws the registry's error naming the known types
    }
  }
}

void run(const TrainArgs& a) {
  validate(a);
  const bool quiet = a.quiet;
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  if (a.clear && std::filesystem::exists(experiment)) std::filesystem::remove_all(experiment);

  std::vector<data::MediationSample> samples = load_samples(a.data);
  if (a.attribute_no_entity) data::use_attribute_as_context(samples);
  if (a.train_size > 0 && static_cast<std::size_t>(a.train_size) < samples.size()) {
    samples.resize(static_cast<std::size_t>(a.train_size));
  }
  if (samples.size() < 2) throw Error("<argument>", "--dataset", "fewer than 2 samples selected");
  const data::HoldOutSplit split = data::hold_out_split(samples.size(), a.hold_out, a.seed);
  std::vector<data::MediationSample> train_samples;
  std::vector<data::MediationSample> validation_samples;
  for (const std::size_t i : split.train) train_samples.push_back(samples[i]);
  for (const std::size_t i : split.validation) validation_samples.push_back(samples[i]);

  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const lm::ModelConfig& config = model->config();
  std::vector<std::int64_t> layers = a.layers;
  if (layers.empty()) {
    for (std::int64_t l = 0; l < config.n_layer; ++l) layers.push_back(l);
  }
  for (const std::int64_t layer : layers) {
    if (layer < 0 || layer >= config.n_layer) {
      throw Error("<argument>", "--layers",
                  std::to_string(layer) + " is outside the model's 0.." + std::to_string(config.n_layer - 1));
    }
  }
  write_args_file(experiment, args_json(a));

  TrainOptions options;
  options.weights.mediated = a.lam_m;
  // lam_u unset: 1 unless the data set has no unmediated targets (METHOD §7.6).
  const bool has_unmediated = a.data.dataset != "biosbias" && a.data.dataset != "mcrae";
  options.weights.unmediated =
      a.lam_u ? a.lam_u : (has_unmediated ? std::optional<double>(1.0) : std::nullopt);
  options.weights.kl = a.lam_kl;
  options.weights.norm = a.lam_norm;
  options.weights.essence = a.lam_ess;
  options.weights.kl_last_row_only = a.faithful;
  options.restore_best = !a.faithful;
  options.lr = a.lr;
  options.adam_eps = a.adam_eps;
  options.max_epochs = a.max_epochs;
  options.patience = a.patience;
  options.mode = a.reference_mode ? ComputeMode::Reference : ComputeMode::Efficient;
  options.resume = a.resume;
  options.progress = !quiet;

  if (!quiet) {
    std::cerr << "train: " << train_samples.size() << " samples, validation: " << validation_samples.size()
              << " (hold-out " << a.hold_out << ", seed " << a.seed << "), model " << path << "\n";
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const std::string& type : a.types) {
    for (const std::int64_t layer : layers) {
      const std::string folder = editor_folder(experiment, type, layer);
      if (a.resume && std::filesystem::exists(std::filesystem::path(folder) / "editor.json")) {
        if (!quiet) std::cerr << type << "/" << layer << ": already trained, skipped (--resume)\n";
        continue;
      }
      EditorConfig editor_config;
      editor_config.type = type;
      editor_config.layer = layer;
      editor_config.hidden_size = config.hidden_size;
      editor_config.use_entity = a.use_entity;
      editor_config.rank = a.rank;
      editor_config.input_last_entity_token = !a.use_all_entity_tokens;
      editor_config.edit_last_entity_token = !a.use_all_entity_tokens;
      // Each layer's editor gets its own stream: the seed plus the layer.
      const std::shared_ptr<Editor> editor =
          make_editor(editor_config, a.seed + static_cast<std::uint64_t>(layer));
      editor->to(model->device());
      PrecomputeOptions precompute;
      precompute.layer = layer;
      precompute.batch_size = a.batch_size;
      precompute.cache_dir = a.cache_dir;
      precompute.progress = !quiet;
      nlohmann::json training = {{"train_samples", train_samples.size()},
                                 {"validation_samples", validation_samples.size()},
                                 {"args", args_json(a)}};
      if (editor->needs_fit()) {
        editor->fit(entity_deltas(*model, tokenizer, train_samples, precompute));
      } else if (!editor->parameters().empty()) {
        const EditorInputs train_inputs =
            precompute_editor_inputs(*model, tokenizer, train_samples, precompute);
        const EditorInputs validation_inputs =
            precompute_editor_inputs(*model, tokenizer, validation_samples, precompute);
        const bool essence = options.weights.essence.has_value();
        TrainingSplit train = make_training_split(tokenizer, train_samples, train_inputs, editor_config,
                                                  a.batch_size, config.max_positions, essence);
        TrainingSplit validation =
            make_training_split(tokenizer, validation_samples, validation_inputs, editor_config, a.batch_size,
                                config.max_positions, essence);
        options.checkpoint_path = (std::filesystem::path(folder) / "checkpoint.pt").string();
        options.label = type + "/" + std::to_string(layer);
        const TrainReport report = train_editor(*model, *editor, train, validation, options);
        training["report"] = report_json(report);
        if (report.train_seconds > 0) {
          training["train_samples_per_second"] =
              static_cast<double>(report.train_samples) / report.train_seconds;
        }
        summary.push_back({{"type", type},
                           {"layer", layer},
                           {"best_epoch", report.best_epoch},
                           {"best_validation_loss", report.best_validation_loss},
                           {"epochs", report.epochs.size()}});
      }
      save_editor(*editor, folder, *model, training);
      std::filesystem::remove(std::filesystem::path(folder) / "checkpoint.pt");
      if (!quiet) std::cerr << type << "/" << layer << ": saved " << folder << "\n";
    }
  }
  std::cout << nlohmann::json({{"experiment", experiment}, {"editors", summary}}).dump(2) << "\n";
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
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
  cmd->add_flag("--resume", a->resume, "Skip saved editors and continue a killed run from its checkpoint");
  cmd->add_flag("--clear-results-dir", a->clear, "Delete the experiment folder first");
  cmd->add_flag(
      "--reference-mode", a->reference_mode,
      "Compute as the original does (full forwards, all logits, LM weight gradients) instead of the "
      "efficient path");
  cmd->add_flag("--faithful", a->faithful,
                "Reproduce quirks Q1 (KL of the last row) and Q2 (save the last epoch)");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress output");
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
