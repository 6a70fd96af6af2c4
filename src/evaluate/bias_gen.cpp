#include "evaluate/bias_gen.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <vector>

#include "eval/layer_selection.h"
#include "eval/metrics.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "remedi/bias_generation.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/generation.h"
#include "remedi/precompute.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi::evaluate {

namespace {

constexpr const char* kBaselineStem = "baseline";  // records and metrics in one file
constexpr const char* kEditedStem = "error_correction";

// METHOD §8.14 shape {top1_accuracy, topk_accuracy, k, fluency, consistency}, with bootstrap intervals
// of the accuracies (as eval fact-cls gives them) and of the aggregates (as eval fact-gen).
nlohmann::json metrics_json(const BiasCorrectionMetrics& m) {
  return {{"top1_accuracy", m.top1_accuracy},
          {"topk_accuracy", m.topk_accuracy},
          {"k", m.k},
          {"fluency", aggregate_json(m.fluency)},
          {"consistency", aggregate_json(m.consistency)},
          {"intervals",
           {{"top1_accuracy", interval_json(m.top1_accuracy, m.top1_hits)},
            {"topk_accuracy", interval_json(m.topk_accuracy, m.topk_hits)}}}};
}

nlohmann::json records_json(const std::vector<BiasCorrectionRecord>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const BiasCorrectionRecord& r : records) {
    out.push_back({{"id", r.id},
                   {"prompt", r.prompt},
                   {"generation", r.generation},
                   {"predictions", r.predictions},
                   {"logp_predictions", r.logp_predictions},
                   {"target", r.target},
                   {"logp_target", r.logp_target},
                   {"fluency", r.fluency},
                   {"consistency", r.consistency}});
  }
  return out;
}

// Rows in batches whose left-padded prompts already reach max_length: they get one new token (METHOD Q12).
std::size_t overlong_rows(const tok::Tokenizer& tokenizer, const std::vector<data::MediationSample>& rows,
                          std::int64_t batch_size, std::int64_t max_length) {
  std::size_t count = 0;
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = 0; begin < rows.size(); begin += step) {
    const std::size_t end = std::min(rows.size(), begin + step);
    std::size_t width = 0;
    for (std::size_t i = begin; i < end; ++i)
      width = std::max(width, tokenizer.encode(rows[i].prompt, true).ids.size());
    if (static_cast<std::int64_t>(width) >= max_length) count += end - begin;
  }
  return count;
}

// What every run (the baseline and each editor) shares.
struct Setup {
  const BiasGenOptions& options;
  const lm::LoadedModel& model;
  std::vector<data::MediationSample> rows;
  std::vector<std::string> labels;
  BiasReferences references;
  std::size_t overlong = 0;
};

// One evaluation (baseline: editor null): generations, label scores, records and metrics.
struct Evaluation {
  std::vector<BiasCorrectionRecord> records;
  nlohmann::json metrics;
};

Evaluation evaluate(const Setup& s, Editor* editor) {
  const BiasGenOptions& a = s.options;
  const bool contextual = !a.decontextualized;
  GenerationOptions options;
  options.batch_size = a.batch_size;
  options.max_length = a.max_length;
  options.max_new_tokens = a.max_new_tokens;
  options.top_k = kBiasGenSamplingTopK;
  options.seed = a.data.seed;
  options.entity_occurrence = bias_edit_occurrence(contextual);
  options.new_tokens_only = true;
  options.overlong_one_token = true;
  options.progress = !a.quiet;
  options.label = editor != nullptr ? "edited generations" : "unedited generations";
  const auto start = std::chrono::steady_clock::now();
  // Several ranks: each generates and scores its batches of rows; every rank computes the records and
  // metrics of the gathered whole (rank 0 writes them).
  dist::Group* group = a.group.get();
  const std::vector<std::string> texts =
      sharded_texts(group, s.model.lm(), s.model.tok(), editor, s.rows, options);
  const double seconds = seconds_since(start);
  const torch::Tensor logp =
      sharded_rows(group, s.rows.size(), a.batch_size, 1, [&](std::size_t begin, std::size_t end) {
        return std::vector<torch::Tensor>{
            label_logprobs(s.model.lm(), s.model.tok(), editor, rows_of(s.rows, begin, end), s.labels,
                           bias_edit_occurrence(contextual), a.batch_size, !a.quiet)};
      })[0];
  Evaluation e;
  e.records = bias_correction_records(s.rows, texts, logp, s.labels, s.references, kBiasGenTopPredictions);
  e.metrics = metrics_json(bias_correction_metrics(e.records, kBiasGenTopPredictions));
  e.metrics["samples"] = s.rows.size();
  e.metrics["labels"] = s.labels.size();
  e.metrics["setting"] = contextual ? "contextual" : "decontextual";
  e.metrics["rows_in_overlong_batches"] = s.overlong;
  e.metrics["generation_seconds"] = seconds;
  return e;
}

void print_line(const std::string& what, const nlohmann::json& m) {
  std::cerr << what << ": top-1 " << m["top1_accuracy"] << ", top-" << kBiasGenTopPredictions << " "
            << m["topk_accuracy"] << ", fluency " << m["fluency"]["mean"] << ", consistency "
            << m["consistency"]["mean"] << "\n";
}

// METHOD §8.15 (Bias in Bios, decontextual sweep): the layer with the highest harmonic mean of top-1
// accuracy and fluency; the first such layer (in `order`) on a tie. Layers without metrics are no
// candidates.
nlohmann::json select_layer(const std::vector<std::int64_t>& order, const nlohmann::json& layers) {
  std::vector<eval::LayerCandidate> candidates;
  for (const std::int64_t layer : order) {
    const nlohmann::json& m = layers.at(std::to_string(layer));
    if (!m.is_object() || !m.contains("top1_accuracy") || !m.contains("fluency")) continue;
    candidates.push_back(
        {layer, {m.at("top1_accuracy").get<double>(), m.at("fluency").at("mean").get<double>()}});
  }
  const eval::LayerSelection chosen = eval::select_layer(candidates);
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [layer, score] : chosen.scores) scores[std::to_string(layer)] = score;
  return {{"rule", "harmonic mean of top-1 accuracy and fluency (docs/METHOD.md 8.15)"},
          {"scores", scores},
          {"best_layer", chosen.best_layer ? nlohmann::json(*chosen.best_layer) : nlohmann::json()}};
}

}  // namespace

nlohmann::json BiasGenResults::summary(const std::string& type) const {
  nlohmann::json out = {{"experiment", experiment}, {"setting", setting}, {"baseline", baseline}};
  if (!layers.is_null()) {
    out["type"] = type;
    out["layers"] = layers;
  }
  if (!layer_selection.is_null()) out["layer_selection"] = layer_selection;
  return out;
}

namespace {

BiasGenResults bias_gen_body(const lm::LoadedModel& model, const BiasGenOptions& a) {
  if (a.max_length < 2) throw Error("<argument>", "--max-length", "must be at least 2");
  if (a.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must not be negative");
  const bool contextual = !a.decontextualized;
  SampleSource everything = a.data;  // every converted row: the TF-IDF vectoriser's bios (METHOD §3.6)
  everything.split.clear();
  const std::vector<data::MediationSample> pool = load_samples(everything);
  const std::vector<data::MediationSample> samples = load_eval_samples(a, 1, /*require_unmediated=*/false);
  Setup s{a, model, bias_prompt_rows(samples, contextual), bias_labels(samples),
          BiasReferences(pool, samples)};
  for (const std::string& label : s.labels) first_token_id(model.tok(), label, "label " + label);
  LoadedEditors loaded;
  if (a.run_editors) loaded = load_eval_editors(a.editors, a.type, a.layers, model.lm());
  BiasGenResults results;
  results.experiment = experiment_folder(a);
  results.setting = contextual ? "contextual" : "decontextual";
  const std::string folder = (std::filesystem::path(results.experiment) / results.setting).string();
  s.overlong = a.max_new_tokens > 0 ? 0 : overlong_rows(model.tok(), s.rows, a.batch_size, a.max_length);
  if (s.overlong > 0 && !a.quiet) {
    std::cerr << s.overlong << " rows are in batches whose prompts reach --max-length " << a.max_length
              << ": they get one new token (docs/METHOD.md Q12)\n";
  }

  dist::Group* group = a.group.get();  // rank 0 decides what is skipped and writes
  const std::string baseline_file = eval::records_file(folder, kBaselineStem);
  if (const nlohmann::json earlier = finished_metrics(group, baseline_file); !earlier.is_null()) {
    results.baseline = earlier.value("metrics", nlohmann::json());
  } else {
    const Evaluation e = evaluate(s, nullptr);
    if (writes(group))
      write_json(baseline_file, {{"samples", records_json(e.records)}, {"metrics", e.metrics}});
    results.baseline = e.metrics;
    if (!a.quiet) print_line(results.setting + " baseline", e.metrics);
  }
  if (!a.run_editors) return results;
  results.layers = nlohmann::json::object();
  for (std::size_t i = 0; i < loaded.editors.size(); ++i) {
    const std::int64_t layer = loaded.layers[i];
    const std::string out = editor_folder(folder, a.type, layer);
    if (nlohmann::json earlier = finished_metrics(group, eval::metrics_file(out, kEditedStem));
        !earlier.is_null()) {
      results.layers[std::to_string(layer)] = std::move(earlier);
      continue;
    }
    const Evaluation e = evaluate(s, loaded.editors[i].get());
    // Records first: a metrics file is only ever next to the records it summarises.
    if (writes(group)) {
      write_json(eval::records_file(out, kEditedStem), records_json(e.records));
      write_json(eval::metrics_file(out, kEditedStem), e.metrics);
    }
    results.layers[std::to_string(layer)] = e.metrics;
    if (!a.quiet) print_line(results.setting + " " + a.type + "/" + std::to_string(layer), e.metrics);
  }
  if (a.decontextualized) {
    results.layer_selection = select_layer(loaded.layers, results.layers);
    if (writes(group)) {
      write_json(eval::layer_selection_file((std::filesystem::path(folder) / a.type).string()),
                 results.layer_selection);
    }
  }
  return results;
}

}  // namespace

BiasGenResults bias_gen(const lm::LoadedModel& model, const BiasGenOptions& a) {
  return naming_data_file(sample_source_file(a.data), [&] { return bias_gen_body(model, a); });
}

}  // namespace remedi::evaluate
