#include "evaluate/bias_cls.h"

#include <torch/torch.h>

#include <iostream>
#include <map>
#include <set>
#include <vector>

#include "eval/layer_selection.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "remedi/bias_classification.h"
#include "remedi/classification.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "util/error.h"

namespace remedi::evaluate {

namespace {

constexpr std::size_t kTopK = 3;  // METHOD §8.10: model and probe top-3

// The headline numbers of a metrics file (what the summary shows per entity layer).
nlohmann::json headline(const nlohmann::json& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"f1", "mcc", "accuracy", "probe_recall_1", "probe_recall_k", "model_recall_1",
                          "model_recall_k", "k"}) {
    if (metrics.contains(key)) out[key] = metrics[key];
  }
  return out;
}

nlohmann::json metrics_json(const ErrorClassificationResult& r, const std::vector<std::string>& labels) {
  const eval::BinaryConfusion& c = r.binary.confusion;
  return {{"f1", r.binary.f1.value},
          {"mcc", r.binary.mcc.value},
          {"accuracy", r.binary.accuracy.value},
          {"probe_recall_1", r.probe_recall_1},
          {"probe_recall_k", r.probe_recall_k},
          {"model_recall_1", r.model_recall_1},
          {"model_recall_k", r.model_recall_k},
          {"k", r.k},
          {"intervals",
           {{"f1", interval_json(r.binary.f1)},
            {"mcc", interval_json(r.binary.mcc)},
            {"accuracy", interval_json(r.binary.accuracy)}}},
          {"confusion", confusion_json(c)},
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
std::vector<data::MediationSample> load_rows(const BiasClsOptions& a) {
  // --attribute-no-entity shapes the editor's contexts only (label_sample); prompt-in-context keeps the bio.
  EvalOptions options = a;
  options.attribute_no_entity = false;
  return load_eval_samples(options, 2, /*require_unmediated=*/false);
}

// One (editor layer, entity layer) pair still to compute and where its files go.
struct Job {
  std::int64_t entity_layer;
  std::string folder;
  std::string stem;
};

// METHOD §8.15: the entity layer of best F1 among `by_entity_layer` ({"<l>": headline}), the lowest
// on a tie; -1 when none has a defined F1.
std::int64_t best_entity_layer(const nlohmann::json& by_entity_layer) {
  std::map<std::int64_t, double> f1;  // ascending layers: the lowest comes first
  for (const auto& [entity_layer, m] : by_entity_layer.items()) {
    if (m.contains("f1") && m.at("f1").is_number()) f1[std::stoll(entity_layer)] = m.at("f1").get<double>();
  }
  std::vector<eval::LayerCandidate> candidates;
  for (const auto& [layer, value] : f1) candidates.push_back({layer, {value}});
  return eval::select_layer(candidates).best_layer.value_or(-1);
}

}  // namespace

nlohmann::json BiasClsResults::summary() const {
  return {{"experiment", experiment}, {"type", type},     {"samples", samples},
          {"labels", labels},         {"layers", layers}, {"best_entity_layer", best_entity_layer}};
}

namespace {

BiasClsResults bias_cls_body(const lm::LoadedModel& model, const BiasClsOptions& a) {
  const Similarity similarity = parse_similarity(a);
  const std::vector<data::MediationSample> samples = load_rows(a);
  const std::vector<std::string> labels = occupation_labels(samples);
  if (labels.size() < 2) {
    throw Error("<argument>", "--rows",
                "the selected samples have only one title ('" + labels.front() +
                    "'); the classifier needs at least 2 distinct titles");
  }
  const std::vector<std::int64_t> gold = gold_label_indices(samples, labels);
  std::vector<std::int64_t> label_ids;
  for (const std::string& label : labels)
    label_ids.push_back(first_token_id(model.tok(), label, "label '" + label + "'"));
  // METHOD Q33: without -l, every saved layer (the original iterated over nothing and crashed).
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, model.lm());
  const std::int64_t n_layer = model.lm().config().n_layer;
  BiasClsResults results;
  results.experiment = experiment_folder(a);
  results.type = a.type;
  results.samples = samples.size();
  results.labels = labels.size();
  // Several ranks: each probes its batches of rows and precomputes their label inputs, every rank
  // computes the directions and classifies the gathered whole (cheap, and the normalisation and
  // bootstrap need every row), rank 0 writes.
  dist::Group* group = a.group.get();
  const std::string suffix =
      std::string(a.symmetric ? "_symmetric" : "") + eval::control_suffix(a.control_task, a.control_model);
  // What is left to do per editor layer (entity layers default to the editor's layer to the last);
  // finished results are kept and reported from their metrics files.
  std::vector<std::vector<Job>> jobs(loaded.layers.size());
  std::set<std::int64_t> probe_layers;
  for (std::size_t e = 0; e < loaded.layers.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const std::string folder = editor_folder(results.experiment, a.type, layer);
    for (const std::int64_t entity_layer : entity_layers_for(a, layer, n_layer)) {
      Job job{entity_layer, folder, "error_cls_layer_" + std::to_string(entity_layer) + suffix};
      if (const nlohmann::json done = finished_metrics(group, eval::metrics_file(folder, job.stem));
          !done.is_null()) {
        results.layers[std::to_string(layer)][std::to_string(entity_layer)] = headline(done);
        continue;
      }
      probe_layers.insert(entity_layer);
      jobs[e].push_back(job);
    }
  }
  if (!probe_layers.empty()) {
    results.computed = true;
    const InContextProbe probe =
        sharded_in_context_probe(group, model.lm(), model.tok(), samples,
                                 std::vector<std::int64_t>(probe_layers.begin(), probe_layers.end()),
                                 label_ids, a.batch_size, !a.quiet);
    ErrorClassifierOptions options;
    options.normalize = !a.no_normalize;
    options.similarity = similarity;
    options.k = kTopK;
    if (a.control_task) options.shuffle_labels_seed = a.data.seed;
    for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
      if (jobs[e].empty()) continue;
      const std::int64_t layer = loaded.layers[e];
      Editor& editor = *loaded.editors[e];
      const std::vector<torch::Tensor> inputs =
          sharded_rows(group, samples.size(), a.batch_size, 2, [&](std::size_t begin, std::size_t end) {
            const LabelInputs mine =
                label_inputs(model.lm(), model.tok(), rows_of(samples, begin, end), labels,
                             editor.config().layer, editor.config().input_last_entity_token,
                             a.attribute_no_entity, a.batch_size, !a.quiet, a.symmetric);
            return std::vector<torch::Tensor>{mine.entity, mine.attribute};
          });
      const torch::Tensor directions = label_directions(editor, {inputs[0], inputs[1]}, model.lm().device());
      for (const Job& job : jobs[e]) {
        const ErrorClassificationResult r =
            classify_errors(probe.entity.at(job.entity_layer), directions, probe.logp, gold, options);
        const nlohmann::json metrics = metrics_json(r, labels);
        // Records first: a metrics file is only ever next to the records it summarises.
        if (writes(group)) {
          write_json(eval::records_file(job.folder, job.stem),
                     sample_records(samples, labels, probe.logp, r));
          write_json(eval::metrics_file(job.folder, job.stem), metrics);
        }
        results.layers[std::to_string(layer)][std::to_string(job.entity_layer)] = headline(metrics);
        if (!a.quiet) {
          std::cerr << a.type << "/" << layer << " entity layer " << job.entity_layer << ": F1 "
                    << r.binary.f1.value << ", MCC " << r.binary.mcc.value << ", probe recall@1 "
                    << r.probe_recall_1 << "\n";
        }
      }
    }
  }
  for (const auto& [layer, by_entity_layer] : results.layers.items())
    results.best_entity_layer[layer] = best_entity_layer(by_entity_layer);
  return results;
}

}  // namespace

BiasClsResults bias_cls(const lm::LoadedModel& model, const BiasClsOptions& a) {
  return naming_data_file(sample_source_file(a.data), [&] { return bias_cls_body(model, a); });
}

}  // namespace remedi::evaluate
