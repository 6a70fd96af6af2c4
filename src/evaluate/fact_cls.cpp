#include "evaluate/fact_cls.h"

#include <torch/torch.h>

#include <iostream>
#include <set>
#include <vector>

#include "data/derived.h"
#include "eval/layer_selection.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "remedi/classification.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"

namespace remedi::evaluate {

namespace {

nlohmann::json metrics_json(const ClassificationResult& r) {
  std::size_t wrong = 0;
  for (const bool right : r.lm_right) wrong += right ? 0 : 1;
  return {
      {"accuracy", r.accuracy.value},
      {"f1", r.f1.value},
      {"mcc", r.mcc.value},
      {"intervals",
       {{"accuracy", interval_json(r.accuracy)}, {"f1", interval_json(r.f1)}, {"mcc", interval_json(r.mcc)}}},
      {"confusion", confusion_json(r.confusion)},
      {"samples", r.lm_right.size()},
      {"lm_wrong", wrong}};
}

nlohmann::json task_record(const ClassificationResult& r, const torch::Tensor& target_logp,
                           const torch::Tensor& comparator_logp, std::int64_t i) {
  return {{"logp_target", target_logp[i].item<double>()},
          {"logp_comparator", comparator_logp[i].item<double>()},
          {"score_target", r.score_target[i].item<double>()},
          {"score_comparator", r.score_comparator[i].item<double>()},
          {"lm_right", static_cast<bool>(r.lm_right[static_cast<std::size_t>(i)])},
          {"predicted_right", static_cast<bool>(r.predicted_right[static_cast<std::size_t>(i)])}};
}

// The summary's view of a metrics file: accuracy, F1 and MCC per task.
nlohmann::json headline(const nlohmann::json& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* task : {"contextual", "decontextual"}) {
    const nlohmann::json& m = metrics.at(task);
    out[task] = {{"accuracy", m.at("accuracy")}, {"f1", m.at("f1")}, {"mcc", m.at("mcc")}};
  }
  return out;
}

// Directions (N, H) of `editor` for attribute representations `attribute`, with the entity input
// the editor was trained with (METHOD Q29: the original passes the probe vector instead).
torch::Tensor directions(Editor& editor, const EditorInputs& inputs, const torch::Tensor& attribute,
                         torch::Device device) {
  torch::NoGradGuard no_grad;
  const torch::Tensor entity = inputs.entity(editor.config().input_last_entity_token);
  return editor.forward(entity.to(device), attribute.to(device)).cpu().to(torch::kFloat32);
}

// The records and metrics of the two tasks at one entity layer.
struct PairResult {
  nlohmann::json records = nlohmann::json::array();
  nlohmann::json metrics;
};

PairResult classify_pair(const std::vector<data::MediationSample>& samples, const EntityProbes& probes,
                         std::int64_t entity_layer, const torch::Tensor& d_new, const torch::Tensor& d_true,
                         const ClassifierOptions& options) {
  // Contextual: does the LM follow the new fact in context? Decontextual: does it know the true one?
  const ClassificationResult contextual =
      classify(probes.in_context.at(entity_layer), d_new, d_true, probes.in_context_new_logp,
               probes.in_context_true_logp, options);
  const ClassificationResult decontextual =
      classify(probes.in_prompt.at(entity_layer), d_true, d_new, probes.in_prompt_true_logp,
               probes.in_prompt_new_logp, options);
  PairResult out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    out.records.push_back({{"id", samples[i].id},
                           {"entity", samples[i].entity},
                           {"contextual", task_record(contextual, probes.in_context_new_logp,
                                                      probes.in_context_true_logp, row)},
                           {"decontextual", task_record(decontextual, probes.in_prompt_true_logp,
                                                        probes.in_prompt_new_logp, row)}});
  }
  out.metrics = {{"contextual", metrics_json(contextual)}, {"decontextual", metrics_json(decontextual)}};
  return out;
}

}  // namespace

nlohmann::json FactClsResults::summary() const {
  return {{"experiment", experiment},
          {"type", type},
          {"layers", layers},
          {"best_entity_layer", best_entity_layer}};
}

namespace {

FactClsResults fact_cls_body(const lm::LoadedModel& model, const ClassificationOptions& a) {
  const Similarity similarity = parse_similarity(a);
  const std::vector<data::MediationSample> samples = load_eval_samples(a, 2);
  std::vector<data::MediationSample> unmediated = samples;
  for (data::MediationSample& s : unmediated) {
    s.context = data::unmediated_context(s);
    s.attribute = data::unmediated_attribute(s);
  }
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, model.lm());
  const std::int64_t n_layer = model.lm().config().n_layer;
  FactClsResults results;
  results.experiment = experiment_folder(a);
  results.type = a.type;
  const std::string suffix = eval::control_suffix(a.control_task, a.control_model);
  // Several ranks: each probes and precomputes its batches of rows, every rank classifies the gathered
  // whole (cheap, and the normalisation and bootstrap need every row), rank 0 writes.
  dist::Group* group = a.group.get();
  // Entity layers per editor layer (default: the editor's layer to the last), probed in one pass;
  // pairs whose metrics file exists were run before (METHOD §8.14) and are read back instead.
  std::vector<std::vector<std::int64_t>> entity_layers;  // per editor: the pairs still to run
  std::vector<std::vector<std::int64_t>> all_wanted;     // per editor: every requested entity layer
  std::set<std::int64_t> all_entity_layers;
  for (const std::int64_t layer : loaded.layers) {
    const std::string folder = editor_folder(results.experiment, a.type, layer);
    std::vector<std::int64_t> these;
    const std::vector<std::int64_t> wanted = entity_layers_for(a, layer, n_layer);
    for (const std::int64_t l : wanted) {
      if (nlohmann::json earlier =
              finished_metrics(group, eval::metrics_file(folder, eval::fact_cls_stem(l, suffix)));
          !earlier.is_null()) {
        results.layers[std::to_string(layer)][std::to_string(l)] = headline(earlier);
        continue;
      }
      these.push_back(l);
    }
    all_entity_layers.insert(these.begin(), these.end());
    entity_layers.push_back(these);
    all_wanted.push_back(wanted);
  }
  EntityProbes probes;
  if (!all_entity_layers.empty()) {
    probes =
        sharded_entity_probes(group, model.lm(), model.tok(), samples,
                              std::vector<std::int64_t>(all_entity_layers.begin(), all_entity_layers.end()),
                              a.batch_size, !a.quiet);
  }
  ClassifierOptions options;
  options.normalize = !a.no_normalize;
  options.similarity = similarity;
  if (a.control_task) options.shuffle_labels_seed = a.data.seed;
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    if (entity_layers[e].empty()) continue;
    Editor& editor = *loaded.editors[e];
    const std::int64_t layer = loaded.layers[e];
    PrecomputeOptions precompute;
    precompute.layer = layer;
    precompute.batch_size = a.batch_size;
    precompute.progress = !a.quiet;
    const EditorInputs mediated_inputs =
        sharded_editor_inputs(group, model.lm(), model.tok(), samples, precompute);
    const EditorInputs unmediated_inputs =
        sharded_editor_inputs(group, model.lm(), model.tok(), unmediated, precompute);
    const torch::Tensor d_new =
        directions(editor, mediated_inputs, mediated_inputs.attribute_average, model.lm().device());
    const torch::Tensor d_true =
        directions(editor, mediated_inputs, unmediated_inputs.attribute_average, model.lm().device());
    const std::string folder = editor_folder(results.experiment, a.type, layer);
    for (const std::int64_t entity_layer : entity_layers[e]) {
      const PairResult pair = classify_pair(samples, probes, entity_layer, d_new, d_true, options);
      const std::string stem = eval::fact_cls_stem(entity_layer, suffix);
      // Records first: a metrics file is only ever next to the records it summarises.
      if (writes(group)) {
        write_json(eval::records_file(folder, stem), pair.records);
        write_json(eval::metrics_file(folder, stem), pair.metrics);
      }
      results.layers[std::to_string(layer)][std::to_string(entity_layer)] = headline(pair.metrics);
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " entity layer " << entity_layer << ": contextual F1 "
                  << pair.metrics["contextual"]["f1"].get<double>() << ", decontextual F1 "
                  << pair.metrics["decontextual"]["f1"].get<double>() << "\n";
      }
    }
  }
  // METHOD §8.15: per editor layer, the entity layer of best contextual F1. A file read back holds an
  // undefined F1 as null, which is no candidate.
  for (std::size_t e = 0; e < loaded.layers.size(); ++e) {
    const std::string layer = std::to_string(loaded.layers[e]);
    std::vector<eval::LayerCandidate> candidates;
    for (const std::int64_t entity_layer : all_wanted[e]) {
      const nlohmann::json& f1 =
          results.layers.at(layer).at(std::to_string(entity_layer)).at("contextual").at("f1");
      if (f1.is_number()) candidates.push_back({entity_layer, {f1.get<double>()}});
    }
    if (const eval::LayerSelection chosen = eval::select_layer(candidates); chosen.best_layer)
      results.best_entity_layer[layer] = *chosen.best_layer;
  }
  return results;
}

}  // namespace

FactClsResults fact_cls(const lm::LoadedModel& model, const ClassificationOptions& a) {
  return naming_data_file(sample_source_file(a.data), [&] { return fact_cls_body(model, a); });
}

}  // namespace remedi::evaluate
