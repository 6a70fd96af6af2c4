#include "remedi/train_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "data/derived.h"
#include "data/splits.h"
#include "remedi/distributed.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "util/error.h"

namespace remedi {

namespace {

namespace fs = std::filesystem;

TrainOptions trainer_options(const TrainRunOptions& o) {
  TrainOptions options;
  options.weights.mediated = o.lam_m;
  options.weights.unmediated = o.lam_u ? o.lam_u : default_unmediated_weight(o.data.dataset);
  options.weights.kl = o.lam_kl;
  options.weights.norm = o.lam_norm;
  options.weights.essence = o.lam_ess;
  options.weights.kl_last_row_only = o.faithful;
  options.restore_best = !o.faithful;
  options.lr = o.lr;
  options.adam_eps = o.adam_eps;
  options.max_epochs = o.max_epochs;
  options.patience = o.patience;
  options.mode = o.reference_mode ? ComputeMode::Reference : ComputeMode::Efficient;
  options.resume = o.resume;
  options.progress = !o.quiet;
  options.prefix_cache_bytes = o.prefix_cache_mib << 20;
  return options;
}

EditorConfig editor_config(const TrainRunOptions& o, const std::string& type, std::int64_t layer,
                           std::int64_t hidden_size) {
  EditorConfig config;
  config.type = type;
  config.layer = layer;
  config.hidden_size = hidden_size;
  config.use_entity = o.use_entity;
  config.rank = o.rank;
  config.input_last_entity_token = !o.use_all_entity_tokens;
  config.edit_last_entity_token = !o.use_all_entity_tokens;
  return config;
}

// Fits, trains or just builds the editor of `type` at `layer` and saves it to `folder`.
TrainedEditor train_one(const lm::LoadedModel& loaded, const TrainRunOptions& o, const TrainSamples& samples,
                        const nlohmann::json& args, const std::string& type, std::int64_t layer,
                        const std::string& folder, const TrainRunProgress& progress) {
  const lm::CausalLM& model = loaded.lm();
  const tok::Tokenizer& tokenizer = loaded.tok();
  // Data parallel: this editor's batches are split across the ranks.
  dist::Group* group = o.parallel == TrainRunOptions::Parallel::Data ? o.group.get() : nullptr;
  TrainedEditor trained{type, layer, folder, false, std::nullopt};
  const EditorConfig config = editor_config(o, type, layer, model.config().hidden_size);
  // Each layer's editor gets its own stream: the seed plus the layer.
  const std::shared_ptr<Editor> editor = make_editor(config, o.seed + static_cast<std::uint64_t>(layer));
  editor->to(model.device());
  PrecomputeOptions precompute;
  precompute.layer = layer;
  precompute.batch_size = o.batch_size;
  precompute.cache_dir = o.cache_dir;
  precompute.progress = !o.quiet;
  nlohmann::json training = {{"train_samples", samples.train.size()},
                             {"validation_samples", samples.validation.size()},
                             {"args", args}};
  if (editor->needs_fit()) {
    editor->fit(entity_deltas(model, tokenizer, samples.train, precompute));
  } else if (!editor->parameters().empty()) {
    TrainOptions options = trainer_options(o);
    const bool essence = options.weights.essence.has_value();
    const std::int64_t max_length = model.config().max_positions;
    // One split's batches: whole, or (data parallel) this rank's part of each, whose editor inputs
    // alone it precomputes.
    const auto make_split = [&](const std::vector<data::MediationSample>& rows) {
      if (group == nullptr) {
        const EditorInputs inputs = precompute_editor_inputs(model, tokenizer, rows, precompute);
        return make_training_split(tokenizer, rows, inputs, config, o.batch_size, max_length, essence);
      }
      const std::vector<std::size_t> mine =
          shard_rows(rows.size(), o.batch_size, group->rank(), group->size());
      std::vector<data::MediationSample> local;
      for (const std::size_t i : mine) local.push_back(rows[i]);
      const EditorInputs inputs =
          local.empty() ? EditorInputs{} : precompute_editor_inputs(model, tokenizer, local, precompute);
      return make_sharded_training_split(tokenizer, rows, mine, inputs, config, o.batch_size, max_length,
                                         essence, *group);
    };
    TrainingSplit train = make_split(samples.train);
    TrainingSplit validation = make_split(samples.validation);
    options.group = group;
    if (!dist::root(group)) options.progress = false;
    options.checkpoint_path = (fs::path(folder) / "checkpoint.pt").string();
    // What decides this editor's weights; the list of layers and types and the device may change
    // between a run and its resume.
    options.arguments = args;
    for (const char* free : {"layers", "editor_types", "device"}) options.arguments.erase(free);
    options.label = type + "/" + std::to_string(layer);
    if (progress) {
      options.after_epoch = [&](std::int64_t epoch) {
        progress({TrainRunEvent::Kind::Epoch, type, layer, epoch, folder});
      };
    }
    const TrainReport report = train_editor(model, *editor, train, validation, options);
    training["report"] = train_report_json(report);
    if (report.train_seconds > 0) {
      training["train_samples_per_second"] = static_cast<double>(report.train_samples) / report.train_seconds;
    }
    trained.report = report;
  }
  if (dist::root(group)) {
    save_editor(*editor, folder, model, training);
    fs::remove(fs::path(folder) / "checkpoint.pt");
  }
  // The other ranks go on once the editor is on disk (a resume after a kill then sees it saved).
  if (group != nullptr) group->barrier();
  if (progress) progress({TrainRunEvent::Kind::Saved, type, layer, 0, folder});
  return trained;
}

TrainReport train_report_from_json(const nlohmann::json& j) {
  TrainReport report;
  report.best_epoch = j.at("best_epoch").get<std::int64_t>();
  report.best_validation_loss = j.at("best_validation_loss").get<double>();
  report.stopped_early = j.at("stopped_early").get<bool>();
  for (const nlohmann::json& e : j.at("epochs")) {
    report.epochs.push_back({e.at("epoch").get<std::int64_t>(), e.at("train_loss").get<double>(),
                             e.at("validation_loss").get<double>(),
                             e.at("validation_terms").get<std::map<std::string, double>>(),
                             e.at("improved").get<bool>(), e.at("seconds").get<double>()});
  }
  return report;
}

// --parallel layers: every rank's editors on every rank, in the order one process lists them (rank r
// trained editors r, r + size, ...).
std::vector<TrainedEditor> gather_editors(dist::Group& group, const std::vector<TrainedEditor>& mine,
                                          std::size_t total) {
  nlohmann::json list = nlohmann::json::array();
  for (const TrainedEditor& e : mine) {
    list.push_back({{"type", e.type},
                    {"layer", e.layer},
                    {"folder", e.folder},
                    {"skipped", e.skipped},
                    {"report", e.report ? train_report_json(*e.report) : nlohmann::json()}});
  }
  const std::vector<std::string> parts = group.all_gather(list.dump());
  std::vector<nlohmann::json> lists;
  for (const std::string& part : parts) lists.push_back(nlohmann::json::parse(part));
  std::vector<TrainedEditor> all;
  for (std::size_t index = 0; index < total; ++index) {
    const nlohmann::json& e = lists.at(index % parts.size()).at(index / parts.size());
    TrainedEditor editor{e.at("type").get<std::string>(), e.at("layer").get<std::int64_t>(),
                         e.at("folder").get<std::string>(), e.at("skipped").get<bool>(), std::nullopt};
    if (!e.at("report").is_null()) editor.report = train_report_from_json(e.at("report"));
    all.push_back(editor);
  }
  return all;
}

}  // namespace

TrainRunOptions::Parallel parse_parallel(const std::string& text) {
  if (text == "data") return TrainRunOptions::Parallel::Data;
  if (text == "layers") return TrainRunOptions::Parallel::Layers;
  throw Error("<argument>", "--parallel", "'" + text + "' is not one of data, layers");
}

std::optional<double> default_unmediated_weight(const std::string& dataset) {
  if (dataset == "biosbias" || dataset == "mcrae") return std::nullopt;
  return 1.0;
}

void check_train_run_options(const TrainRunOptions& o) {
  if (o.batch_size <= 0) throw Error("<argument>", "--batch-size", "must be positive");
  if (o.max_epochs < 0) throw Error("<argument>", "--max-epochs", "must be >= 0");
  if (o.patience < 0) throw Error("<argument>", "--patience", "must be >= 0");
  if (!(o.hold_out > 0 && o.hold_out < 1)) throw Error("<argument>", "--hold-out", "must be in (0, 1)");
  if (!(o.lr > 0)) throw Error("<argument>", "--lr", "must be positive");
  if (o.train_size < 0) throw Error("<argument>", "--train-size", "must be >= 0");
  if (o.prefix_cache_mib < 0 || o.prefix_cache_mib > (std::int64_t{1} << 30)) {
    throw Error("<argument>", "--prefix-cache-mib", "must be in [0, 2^30]");
  }
  for (const std::string& type : o.types) {
    if (std::find(editor_types().begin(), editor_types().end(), type) == editor_types().end()) {
      make_editor({type, 0, 1}, 0);  // throws the registry's error naming the known types
    }
  }
}

TrainSamples select_train_samples(const TrainRunOptions& o) {
  std::vector<data::MediationSample> samples = evaluate::load_samples(o.data);
  if (o.attribute_no_entity) data::use_attribute_as_context(samples);
  if (o.train_size > 0 && static_cast<std::size_t>(o.train_size) < samples.size()) {
    samples.resize(static_cast<std::size_t>(o.train_size));
  }
  if (samples.size() < 2) throw Error("<argument>", "--dataset", "fewer than 2 samples selected");
  const data::HoldOutSplit split = data::hold_out_split(samples.size(), o.hold_out, o.seed);
  TrainSamples selected;
  for (const std::size_t i : split.train) selected.train.push_back(samples[i]);
  for (const std::size_t i : split.validation) selected.validation.push_back(samples[i]);
  return selected;
}

TrainRunResult train_editors(const lm::LoadedModel& model, const TrainRunOptions& o,
                             const TrainSamples& samples, const TrainRunProgress& progress) {
  check_train_run_options(o);
  TrainRunResult result;
  result.experiment = (fs::path(evaluate::results_dir(o.results)) / o.name).string();
  result.train_samples = samples.train.size();
  result.validation_samples = samples.validation.size();
  const std::int64_t n_layer = model.lm().config().n_layer;
  std::vector<std::int64_t> layers = o.layers;
  if (layers.empty()) {
    for (std::int64_t l = 0; l < n_layer; ++l) layers.push_back(l);
  }
  for (const std::int64_t layer : layers) {
    if (layer < 0 || layer >= n_layer) {
      throw Error("<argument>", "--layers",
                  std::to_string(layer) + " is outside the model's 0.." + std::to_string(n_layer - 1));
    }
  }
  const nlohmann::json args = train_run_args_json(o, model);
  if (dist::root(o.group.get())) {
    if (o.clear && fs::exists(result.experiment)) fs::remove_all(result.experiment);
    evaluate::write_args_file(result.experiment, args);
  }
  if (o.group != nullptr) o.group->barrier();
  if (progress) progress({TrainRunEvent::Kind::Started, "", 0, 0, result.experiment});
  const bool by_layers = o.group != nullptr && o.parallel == TrainRunOptions::Parallel::Layers;
  std::size_t index = 0;  // of the editor in types x layers
  for (const std::string& type : o.types) {
    for (const std::int64_t layer : layers) {
      if (by_layers &&
          static_cast<int>(index++ % static_cast<std::size_t>(o.group->size())) != o.group->rank()) {
        continue;  // another rank's editor
      }
      const std::string folder = editor_folder(result.experiment, type, layer);
      if (o.resume && fs::exists(fs::path(folder) / "editor.json")) {
        // Saved: a checkpoint still there was left by a kill between the save and its removal.
        fs::remove(fs::path(folder) / "checkpoint.pt");
        result.editors.push_back({type, layer, folder, true, std::nullopt});
        if (progress) progress({TrainRunEvent::Kind::Skipped, type, layer, 0, folder});
        continue;
      }
      // Below, a bad sample is named "<data>"; the samples here are o.data's, so the error names its file.
      result.editors.push_back(evaluate::naming_data_file(evaluate::sample_source_file(o.data), [&] {
        return train_one(model, o, samples, args, type, layer, folder, progress);
      }));
    }
  }
  if (by_layers) result.editors = gather_editors(*o.group, result.editors, o.types.size() * layers.size());
  return result;
}

TrainRunResult train_editors(const lm::LoadedModel& model, const TrainRunOptions& options,
                             const TrainRunProgress& progress) {
  check_train_run_options(options);
  return train_editors(model, options, select_train_samples(options), progress);
}

nlohmann::json train_run_args_json(const TrainRunOptions& o, const lm::LoadedModel& model) {
  const auto optional_json = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return {{"experiment_name", o.name},
          {"model", o.model.empty() ? model.path : o.model},
          {"dataset", o.data.dataset},
          {"dataset_file", o.data.file},
          {"rows", o.data.split},
          {"train_size", o.train_size},
          {"layers", o.layers},
          {"editor_types", o.types},
          {"lam_m", o.lam_m},
          {"lam_u", optional_json(o.lam_u)},
          {"lam_kl", o.lam_kl},
          {"lam_norm", optional_json(o.lam_norm)},
          {"lam_ess", optional_json(o.lam_ess)},
          {"lr", o.lr},
          {"adam_eps", o.adam_eps},
          {"batch_size", o.batch_size},
          {"max_epochs", o.max_epochs},
          {"patience", o.patience},
          {"hold_out", o.hold_out},
          {"use_entity", o.use_entity},
          {"use_all_entity_tokens", o.use_all_entity_tokens},
          {"attribute_no_entity", o.attribute_no_entity},
          {"rank", o.rank},
          {"device", o.device},
          {"dtype", o.dtype},
          {"seed", o.seed},
          {"reference_mode", o.reference_mode},
          {"faithful", o.faithful}};
}

nlohmann::json train_report_json(const TrainReport& report) {
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

nlohmann::json train_run_summary_json(const TrainRunResult& result) {
  nlohmann::json editors = nlohmann::json::array();
  for (const TrainedEditor& e : result.editors) {
    if (!e.report) continue;
    editors.push_back({{"type", e.type},
                       {"layer", e.layer},
                       {"best_epoch", e.report->best_epoch},
                       {"best_validation_loss", e.report->best_validation_loss},
                       {"epochs", e.report->epochs.size()}});
  }
  return {{"experiment", result.experiment}, {"editors", editors}};
}

}  // namespace remedi
