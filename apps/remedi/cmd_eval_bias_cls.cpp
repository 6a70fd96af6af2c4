// `remedi eval bias-cls` (also `eval-bias-cls`): REMEDI as a detector of the LM's occupation errors on
// Bias in Bios ("Bios-Med", METHOD §8.10). The unedited LM ranks the occupations after
// "<bio>. <first> has the occupation of"; for each editor layer l and entity layer l_e, the probe ranks
// them by the LM's representation of the person at l_e against the editor's direction for each
// occupation, and predicts an error when the LM's first choice is not in its own top 3. Writes
// <results>/<name>/<type>/<l>/error_cls_layer_<l_e>[_symmetric][_control_task][_control_model].json (per
// sample) and ..._metrics.json, plus an args file; results that already exist are kept and not recomputed.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/bias_classification.h"
#include "remedi/classification.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

constexpr std::size_t kTopK = 3;  // METHOD §8.10: model and probe top-3

struct BiasClsArgs : ClassificationOptions {
  bool symmetric = false;
};

nlohmann::json args_json(const BiasClsArgs& a) {
  nlohmann::json args = classification_options_json(a);
  args["dataset"] = a.data.dataset;
  args["symmetric"] = a.symmetric;
  return args;
}

// The headline numbers of a metrics file (what the stdout summary shows per entity layer).
nlohmann::json headline(const nlohmann::json& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"f1", "mcc", "accuracy", "probe_recall_1", "probe_recall_k", "model_recall_1",
                          "model_recall_k", "k"}) {
    if (metrics.contains(key)) out[key] = metrics[key];
  }
  return out;
}

nlohmann::json metrics_json(const ErrorClassificationResult& r, const std::vector<std::string>& labels) {
  const auto scored = [](const ScoreWithInterval& s) {
    return nlohmann::json{{"value", s.value}, {"ci95", {s.ci95.lower, s.ci95.upper}}};
  };
  const eval::BinaryConfusion& c = r.binary.confusion;
  return {
      {"f1", r.binary.f1.value},
      {"mcc", r.binary.mcc.value},
      {"accuracy", r.binary.accuracy.value},
      {"probe_recall_1", r.probe_recall_1},
      {"probe_recall_k", r.probe_recall_k},
      {"model_recall_1", r.model_recall_1},
      {"model_recall_k", r.model_recall_k},
      {"k", r.k},
      {"intervals",
       {{"f1", scored(r.binary.f1)}, {"mcc", scored(r.binary.mcc)}, {"accuracy", scored(r.binary.accuracy)}}},
      {"confusion",
       {{"tp", c.true_positives},
        {"fp", c.false_positives},
        {"tn", c.true_negatives},
        {"fn", c.false_negatives}}},
      {"samples", r.lm_wrong.size()},
      {"lm_wrong", c.true_positives + c.false_negatives},
      {"labels", labels}};
}

nlohmann::json sample_records(const std::vector<data::MediationSample>& samples,
                              const std::vector<std::string>& labels, const torch::Tensor& label_logp,
                              const ErrorClassificationResult& r) {
  nlohmann::json records = nlohmann::json::array();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    nlohmann::json model_top = nlohmann::json::array();
    nlohmann::json model_logp = nlohmann::json::array();
    for (const std::int64_t k : r.model_top_k[i]) {
      model_top.push_back(labels[static_cast<std::size_t>(k)]);
      model_logp.push_back(label_logp[row][k].item<double>());
    }
    nlohmann::json probe_top = nlohmann::json::array();
    nlohmann::json probe_scores = nlohmann::json::array();
    for (const std::int64_t k : r.probe_top_k[i]) {
      probe_top.push_back(labels[static_cast<std::size_t>(k)]);
      probe_scores.push_back(r.scores[row][k].item<double>());
    }
    records.push_back({{"id", samples[i].id},
                       {"entity", samples[i].entity},
                       {"ground_truth", samples[i].target_mediated},
                       {"model_top_k", model_top},
                       {"model_top_k_logp", model_logp},
                       {"predicted_top_k", probe_top},
                       {"predicted_top_k_scores", probe_scores},
                       {"lm_wrong", static_cast<bool>(r.lm_wrong[i])},
                       {"predicted_wrong", static_cast<bool>(r.predicted_wrong[i])}});
  }
  return records;
}

// The evaluation rows (at least two).
std::vector<data::MediationSample> load_rows(const BiasClsArgs& a) {
  // --attribute-no-entity shapes the editor's contexts only (label_sample); prompt-in-context keeps the bio.
  EvalOptions options = a;
  options.attribute_no_entity = false;
  return load_eval_samples(options, 2, /*require_unmediated=*/false);
}

struct Job {
  std::int64_t entity_layer;
  std::filesystem::path records;
  std::filesystem::path metrics;
};

void run(const BiasClsArgs& a) {
  const Similarity similarity = parse_similarity(a);
  const std::vector<data::MediationSample> samples = load_rows(a);
  const std::vector<std::string> labels = occupation_labels(samples);
  if (labels.size() < 2) {
    throw Error("<argument>", "--rows",
                "the selected samples have only one title ('" + labels.front() +
                    "'); the classifier needs at least 2 distinct titles");
  }
  const std::vector<std::int64_t> gold = gold_label_indices(samples, labels);
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  std::vector<std::int64_t> label_ids;
  for (const std::string& label : labels)
    label_ids.push_back(first_token_id(tokenizer, label, "label '" + label + "'"));
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  // METHOD Q33: without -l, every saved layer (the original iterated over nothing and crashed).
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  const std::int64_t n_layer = model->config().n_layer;
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  const std::string suffix = std::string(a.symmetric ? "_symmetric" : "") + control_suffix(a);
  // What is left to do per editor layer (entity layers default to the editor's layer to the last);
  // finished results are kept and reported from their metrics files.
  nlohmann::json summary = nlohmann::json::object();
  std::vector<std::vector<Job>> jobs(loaded.layers.size());
  std::set<std::int64_t> probe_layers;
  for (std::size_t e = 0; e < loaded.layers.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const std::vector<std::int64_t> these = entity_layers_for(a, layer, n_layer);
    const std::filesystem::path folder = editor_folder(experiment, a.type, layer);
    for (const std::int64_t entity_layer : these) {
      const std::string stem = "error_cls_layer_" + std::to_string(entity_layer) + suffix;
      Job job{entity_layer, folder / (stem + ".json"), folder / (stem + "_metrics.json")};
      if (const nlohmann::json done = finished_metrics(job.metrics.string()); !done.is_null()) {
        summary[std::to_string(layer)][std::to_string(entity_layer)] = headline(done);
        continue;
      }
      probe_layers.insert(entity_layer);
      jobs[e].push_back(job);
    }
  }
  if (!probe_layers.empty()) {
    const InContextProbe probe = probe_in_context(
        *model, tokenizer, samples, std::vector<std::int64_t>(probe_layers.begin(), probe_layers.end()),
        label_ids, a.batch_size, !a.quiet);
    write_args_file(experiment, args_json(a));
    ErrorClassifierOptions options;
    options.normalize = !a.no_normalize;
    options.similarity = similarity;
    options.k = kTopK;
    if (a.control_task) options.shuffle_labels_seed = a.data.seed;
    for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
      if (jobs[e].empty()) continue;
      const std::int64_t layer = loaded.layers[e];
      const torch::Tensor directions =
          label_directions(*model, tokenizer, *loaded.editors[e], samples, labels, a.attribute_no_entity,
                           a.batch_size, !a.quiet, a.symmetric);
      for (const Job& job : jobs[e]) {
        const ErrorClassificationResult r =
            classify_errors(probe.entity.at(job.entity_layer), directions, probe.logp, gold, options);
        const nlohmann::json metrics = metrics_json(r, labels);
        write_json(job.records.string(), sample_records(samples, labels, probe.logp, r));
        write_json(job.metrics.string(), metrics);
        summary[std::to_string(layer)][std::to_string(job.entity_layer)] = headline(metrics);
        if (!a.quiet) {
          std::cerr << a.type << "/" << layer << " entity layer " << job.entity_layer << ": F1 "
                    << r.binary.f1.value << ", MCC " << r.binary.mcc.value << ", probe recall@1 "
                    << r.probe_recall_1 << "\n";
        }
      }
    }
  }
  // METHOD §8.15: per editor layer, the entity layer of best F1 (the lowest on a tie).
  nlohmann::json best = nlohmann::json::object();
  for (const auto& [layer, by_entity_layer] : summary.items()) {
    double best_f1 = -1.0;
    std::int64_t best_layer = -1;
    for (const auto& [entity_layer, m] : by_entity_layer.items()) {
      const double f1 = m.value("f1", -1.0);
      const std::int64_t l = std::stoll(entity_layer);
      if (f1 > best_f1 || (f1 == best_f1 && l < best_layer)) {
        best_f1 = f1;
        best_layer = l;
      }
    }
    best[layer] = best_layer;
  }
  std::cout << nlohmann::json({{"experiment", experiment},
                               {"type", a.type},
                               {"samples", samples.size()},
                               {"labels", labels.size()},
                               {"layers", summary},
                               {"best_entity_layer", best}})
                   .dump(2)
            << "\n";
}

}  // namespace

void register_eval_bias_cls(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<BiasClsArgs>();
  a->data.dataset = "biosbias";
  auto* cmd = app.add_subcommand(name, "Bias in Bios occupation-error classification (Bios-Med)");
  add_classification_options(*cmd, *a);
  cmd->add_flag(
      "--symmetric", a->symmetric,
      "Every label's direction from 'has the occupation of <label>', the gold one too (docs/METHOD.md Q18 "
      "variant; outputs *_symmetric)");
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
