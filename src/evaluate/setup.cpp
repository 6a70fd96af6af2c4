#include "evaluate/setup.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/datasets.h"
#include "data/derived.h"
#include "data/splits.h"
#include "eval/results_layout.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace remedi::evaluate {

std::string data_dir() {
  if (const char* env = std::getenv("REMEDI_DATA"); env != nullptr && *env != '\0') return env;
  return REMEDI_DEFAULT_DATA_DIR;
}

std::string editors_dir(const std::string& flag) {
  if (flag.empty() || flag.find('/') != std::string::npos || std::filesystem::is_directory(flag)) return flag;
  const std::string shipped = data_dir() + "/editors/" + flag;
  return std::filesystem::is_directory(shipped) ? shipped : flag;
}

std::string results_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("REMEDI_RESULTS"); env != nullptr && *env != '\0') return env;
  return "results";
}

std::string sample_source_file(const SampleSource& source) {
  return source.file.empty() ? data::default_dataset_path(source.dataset, data_dir()) : source.file;
}

std::vector<data::MediationSample> load_samples(const SampleSource& source) {
  const std::string path = sample_source_file(source);
  data::DatasetOptions options;
  options.cmudict_path = source.cmudict;
  options.seed = source.seed;
  std::vector<data::MediationSample> samples = data::load_dataset(source.dataset, path, options);
  if (!source.split.empty()) samples = data::select_split(samples, source.split);
  return samples;
}

nlohmann::json eval_options_json(const EvalOptions& o) {
  return {{"experiment_name", o.name},
          {"model", o.model},
          {"editors_dir", o.editors},
          {"editor_type", o.type},
          {"layers", o.layers},
          {"dataset_file", o.data.file},
          {"rows", o.small ? "train[5000:6000]" : o.data.split},
          {"small", o.small},
          {"attribute_no_entity", o.attribute_no_entity},
          {"seed", o.data.seed},
          {"batch_size", o.batch_size},
          {"device", o.device},
          {"dtype", o.dtype}};
}

std::vector<data::MediationSample> load_eval_samples(const EvalOptions& o, std::size_t minimum,
                                                     bool require_unmediated) {
  if (o.batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  SampleSource source = o.data;
  const std::string split = o.small ? "train[5000:6000]" : o.data.split;
  source.split.clear();
  std::vector<data::MediationSample> samples = load_samples(source);
  const std::size_t total = samples.size();
  if (!split.empty()) samples = data::select_split(samples, split);
  if (o.attribute_no_entity) data::use_attribute_as_context(samples);
  if (samples.size() < minimum) {
    // The rows of METHOD §3.6 ([5000, 10000), [5000, 6000) with --small) are sized for the full releases;
    // the shared Bias in Bios and synthetic McRae files are far shorter.
    throw Error("<argument>", o.small ? "--small" : "--rows",
                "'" + split + "' selects " + std::to_string(samples.size()) + " of the data set's " +
                    std::to_string(total) + " samples, fewer than " + std::to_string(minimum) +
                    "; choose rows within them, e.g. --rows 'train[:" + std::to_string(total) + "]'");
  }
  for (const data::MediationSample& s : samples) {
    if (require_unmediated && !s.target_unmediated)
      throw Error("<data>", "sample " + s.id + " target_unmediated", "missing (CounterFact needed)");
  }
  return samples;
}

nlohmann::json classification_options_json(const ClassificationOptions& o) {
  nlohmann::json args = eval_options_json(o);
  args["entity_layers"] = o.entity_layers;
  args["control_task"] = o.control_task;
  args["control_model"] = o.control_model;
  args["normalize"] = !o.no_normalize;
  args["similarity"] = o.similarity;
  return args;
}

Similarity parse_similarity(const ClassificationOptions& o) {
  if (o.similarity == "dot") return Similarity::Dot;
  if (o.similarity == "cosine") return Similarity::Cosine;
  throw Error("<argument>", "--similarity", "'" + o.similarity + "' is not one of dot, cosine");
}

std::vector<std::int64_t> entity_layers_for(const ClassificationOptions& o, std::int64_t layer,
                                            std::int64_t n_layer) {
  for (const std::int64_t l : o.entity_layers) {
    if (l < 0 || l >= n_layer) {
      throw Error("<argument>", "--entity-layers",
                  std::to_string(l) + " is outside the model's layers 0.." + std::to_string(n_layer - 1));
    }
  }
  if (!o.entity_layers.empty()) return o.entity_layers;
  std::vector<std::int64_t> layers;
  for (std::int64_t l = layer; l < n_layer; ++l) layers.push_back(l);
  return layers;
}

std::string control_suffix(const ClassificationOptions& o) {
  return eval::control_suffix(o.control_task, o.control_model);
}

LoadedEditors load_eval_editors(const std::string& editors_flag, const std::string& type,
                                std::vector<std::int64_t> layers, const lm::CausalLM& model) {
  const std::string editors_dir = evaluate::editors_dir(editors_flag);
  const bool needs_file = type != "identity" && type != "null";
  if (needs_file && editors_dir.empty())
    throw Error("<argument>", "--editors-dir", "required for editor type " + type);
  if (layers.empty() && needs_file) layers = saved_layers(editors_dir, type);
  if (layers.empty()) throw Error("<argument>", "--layers", "no layers given and no saved editors found");
  LoadedEditors loaded;
  loaded.layers = layers;
  for (const std::int64_t layer : layers) {
    if (layer < 0 || layer >= model.config().n_layer) {
      throw Error("<argument>", "--layers",
                  std::to_string(layer) + " is outside the model's layers 0.." +
                      std::to_string(model.config().n_layer - 1));
    }
    if (needs_file) {
      loaded.editors.push_back(load_editor(editor_folder(editors_dir, type, layer), model));
    } else {
      EditorConfig config;
      config.type = type;
      config.layer = layer;
      config.hidden_size = model.config().hidden_size;
      loaded.editors.push_back(make_editor(config, 0));
    }
    loaded.editors.back()->eval();
  }
  return loaded;
}

void write_json(const std::string& path, const nlohmann::json& value) {
  const std::filesystem::path target(path);
  create_folders(target.parent_path().string());  // nothing for a bare file name
  AtomicOutputFile out(path);
  out.write(value.dump(2) + "\n");
  out.commit();
}

nlohmann::json aggregate_json(const eval::Aggregate& aggregate) {
  const eval::ConfidenceInterval ci = eval::bootstrap_mean_ci(aggregate.values);
  return {{"mean", aggregate.mean}, {"std", aggregate.std}, {"ci95", {ci.lower, ci.upper}}};
}

nlohmann::json finished_metrics(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  if (!in) return nullptr;
  nlohmann::json metrics = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!metrics.is_object()) {
    std::cerr << "remedi: " << metrics_path
              << " is not a JSON object (a run that did not finish?); running again\n";
    return nullptr;
  }
  std::cerr << "remedi: " << metrics_path << " exists, skipping (delete it to run again)\n";
  return metrics;
}

void write_args_file(const std::string& folder, const nlohmann::json& args) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  write_json((std::filesystem::path(folder) / ("args-" + std::string(stamp) + ".json")).string(), args);
}

}  // namespace remedi::evaluate
