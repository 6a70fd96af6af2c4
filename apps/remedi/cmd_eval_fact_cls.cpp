// `remedi eval fact-cls` (also `eval-fact-cls`): REMEDI as a detector of the LM's factual errors on
// CounterFact (METHOD §8.8). For each editor layer l and entity layer l_e, the editor's directions for the
// new and the true attribute (from the context and from the context with the true object) are compared with
// the LM's representation of the entity at l_e, in context (contextual task: will the LM follow the stated
// new fact?) and in the bare prompt (decontextual: does it already know the true one?). Writes
// <results>/<name>/<type>/<l>/fact_cls_layer_<l_e>[_control_task][_control_model].json (per sample)
// and ..._metrics.json, plus an args file.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/classification.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

nlohmann::json metrics_json(const ClassificationResult& r) {
  const auto scored = [](const ScoreWithInterval& s) {
    return nlohmann::json{{"value", s.value}, {"ci95", {s.ci95.lower, s.ci95.upper}}};
  };
  std::size_t wrong = 0;
  for (const bool right : r.lm_right) wrong += right ? 0 : 1;
  return {{"accuracy", r.accuracy.value},
          {"f1", r.f1.value},
          {"mcc", r.mcc.value},
          {"intervals", {{"accuracy", scored(r.accuracy)}, {"f1", scored(r.f1)}, {"mcc", scored(r.mcc)}}},
          {"confusion",
           {{"tp", r.confusion.true_positives},
            {"fp", r.confusion.false_positives},
            {"tn", r.confusion.true_negatives},
            {"fn", r.confusion.false_negatives}}},
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

void run(const ClassificationOptions& a) {
  const Similarity similarity = parse_similarity(a);
  const std::vector<data::MediationSample> samples = load_eval_samples(a, 2);
  std::vector<data::MediationSample> unmediated = samples;
  for (data::MediationSample& s : unmediated) {
    s.context = data::unmediated_context(s);
    s.attribute = data::unmediated_attribute(s);
  }
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  const std::int64_t n_layer = model->config().n_layer;
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  const std::string suffix = control_suffix(a);
  const auto stem = [&](std::int64_t entity_layer) {
    return "fact_cls_layer_" + std::to_string(entity_layer) + suffix;
  };
  // Entity layers per editor layer (default: the editor's layer to the last), probed in one pass;
  // pairs whose metrics file exists were run before (METHOD §8.14) and are read back instead.
  nlohmann::json summary = nlohmann::json::object();
  std::vector<std::vector<std::int64_t>> entity_layers;  // per editor: the pairs still to run
  std::vector<std::vector<std::int64_t>> all_wanted;     // per editor: every requested entity layer
  std::set<std::int64_t> all_entity_layers;
  for (const std::int64_t layer : loaded.layers) {
    std::vector<std::int64_t> these;
    const std::vector<std::int64_t> wanted = entity_layers_for(a, layer, n_layer);
    for (const std::int64_t l : wanted) {
      const std::string metrics =
          (std::filesystem::path(editor_folder(experiment, a.type, layer)) / (stem(l) + "_metrics.json"))
              .string();
      if (nlohmann::json earlier = finished_metrics(metrics); !earlier.is_null()) {
        summary[std::to_string(layer)][std::to_string(l)] = headline(earlier);
        continue;
      }
      these.push_back(l);
    }
    all_entity_layers.insert(these.begin(), these.end());
    entity_layers.push_back(these);
    all_wanted.push_back(wanted);
  }
  write_args_file(experiment, classification_options_json(a));
  EntityProbes probes;
  if (!all_entity_layers.empty()) {
    probes = probe_entities(*model, tokenizer, samples,
                            std::vector<std::int64_t>(all_entity_layers.begin(), all_entity_layers.end()),
                            a.batch_size, !a.quiet);
  }
  ClassifierOptions options;
  options.normalize = !a.no_normalize;
  options.similarity = similarity;
  if (a.control_task) options.shuffle_labels_seed = a.data.seed;
  nlohmann::json best = nlohmann::json::object();  // METHOD §8.15: the entity layer of best contextual F1
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    if (entity_layers[e].empty()) continue;
    Editor& editor = *loaded.editors[e];
    const std::int64_t layer = loaded.layers[e];
    PrecomputeOptions precompute;
    precompute.layer = layer;
    precompute.batch_size = a.batch_size;
    precompute.progress = !a.quiet;
    const EditorInputs mediated_inputs = precompute_editor_inputs(*model, tokenizer, samples, precompute);
    const EditorInputs unmediated_inputs =
        precompute_editor_inputs(*model, tokenizer, unmediated, precompute);
    const torch::Tensor d_new =
        directions(editor, mediated_inputs, mediated_inputs.attribute_average, model->device());
    const torch::Tensor d_true =
        directions(editor, mediated_inputs, unmediated_inputs.attribute_average, model->device());
    const std::string folder = editor_folder(experiment, a.type, layer);
    for (const std::int64_t entity_layer : entity_layers[e]) {
      // Contextual: does the LM follow the new fact in context? Decontextual: does it know the true one?
      const ClassificationResult contextual =
          classify(probes.in_context.at(entity_layer), d_new, d_true, probes.in_context_new_logp,
                   probes.in_context_true_logp, options);
      const ClassificationResult decontextual =
          classify(probes.in_prompt.at(entity_layer), d_true, d_new, probes.in_prompt_true_logp,
                   probes.in_prompt_new_logp, options);
      nlohmann::json records = nlohmann::json::array();
      for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto row = static_cast<std::int64_t>(i);
        records.push_back({{"id", samples[i].id},
                           {"entity", samples[i].entity},
                           {"contextual", task_record(contextual, probes.in_context_new_logp,
                                                      probes.in_context_true_logp, row)},
                           {"decontextual", task_record(decontextual, probes.in_prompt_true_logp,
                                                        probes.in_prompt_new_logp, row)}});
      }
      const nlohmann::json metrics = {{"contextual", metrics_json(contextual)},
                                      {"decontextual", metrics_json(decontextual)}};
      write_json((std::filesystem::path(folder) / (stem(entity_layer) + ".json")).string(), records);
      write_json((std::filesystem::path(folder) / (stem(entity_layer) + "_metrics.json")).string(), metrics);
      summary[std::to_string(layer)][std::to_string(entity_layer)] = headline(metrics);
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " entity layer " << entity_layer << ": contextual F1 "
                  << contextual.f1.value << ", decontextual F1 " << decontextual.f1.value << "\n";
      }
    }
  }
  for (std::size_t e = 0; e < loaded.layers.size(); ++e) {
    const std::string layer = std::to_string(loaded.layers[e]);
    double best_f1 = -1.0;
    for (const std::int64_t entity_layer : all_wanted[e]) {
      const nlohmann::json f1 =
          summary[layer][std::to_string(entity_layer)]["contextual"].value("f1", nlohmann::json());
      if (f1.is_number() && f1.get<double>() > best_f1) {
        best_f1 = f1.get<double>();
        best[layer] = entity_layer;
      }
    }
  }
  std::cout << nlohmann::json({{"experiment", experiment},
                               {"type", a.type},
                               {"layers", summary},
                               {"best_entity_layer", best}})
                   .dump(2)
            << "\n";
}

}  // namespace

void register_eval_fact_cls(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<ClassificationOptions>();
  auto* cmd =
      app.add_subcommand(name, "CounterFact factual-error classification: contextual and decontextual");
  add_classification_options(*cmd, *a);
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
