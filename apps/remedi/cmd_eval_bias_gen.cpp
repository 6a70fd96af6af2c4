// `remedi eval bias-gen` (also `eval-bias-gen`): Bias in Bios error correction by generation
// (METHOD §8.9). Each evaluated person's prompt "<first> has the occupation of", after the bio (contextual,
// the default) or alone (--decontextualized), is continued by top-k sampling and scored by one
// forward pass for the occupation labels, with the unedited LM (the baseline) and with each editor
// (the edit from the bio's attribute at the prompt's own mention). Writes
// <results>/<name>/<setting>/baseline.json (records and metrics) and
// <results>/<name>/<setting>/<type>/<layer>/error_correction.json and error_correction_metrics.json,
// plus an args file; a results file that already exists is kept and its run skipped (METHOD §8.14).
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "eval/metrics.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/bias_generation.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/generation.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

constexpr std::size_t kTopPredictions = 3;  // METHOD §8.9: top-k accuracy with k = 3

struct BiasGenArgs : EvalOptions {
  bool decontextualized = false;
  std::int64_t max_length = 150;    // total tokens including the left-padded prompt (METHOD Q12)
  std::int64_t max_new_tokens = 0;  // > 0: new tokens per batch instead of max_length's budget
  bool editors_given = false;       // -e, -t or -l: run editors as well as the baseline
};

nlohmann::json args_json(const BiasGenArgs& a) {
  nlohmann::json args = eval_options_json(a);
  args["decontextualized"] = a.decontextualized;
  args["max_length"] = a.max_length;
  args["max_new_tokens"] = a.max_new_tokens;
  args["top_k"] = 5;
  args["k"] = kTopPredictions;
  args["baseline_only"] = !a.editors_given;
  return args;
}

// METHOD §8.14 shape {top1_accuracy, topk_accuracy, k, fluency, consistency}, with bootstrap intervals
// of the accuracies (as eval fact-cls gives them) and of the aggregates (as eval fact-gen).
nlohmann::json metrics_json(const BiasCorrectionMetrics& m) {
  const auto interval = [](double value, const std::vector<double>& hits) {
    const eval::ConfidenceInterval ci = eval::bootstrap_mean_ci(hits);
    return nlohmann::json{{"value", value}, {"ci95", {ci.lower, ci.upper}}};
  };
  return {{"top1_accuracy", m.top1_accuracy},
          {"topk_accuracy", m.topk_accuracy},
          {"k", m.k},
          {"fluency", aggregate_json(m.fluency)},
          {"consistency", aggregate_json(m.consistency)},
          {"intervals",
           {{"top1_accuracy", interval(m.top1_accuracy, m.top1_hits)},
            {"topk_accuracy", interval(m.topk_accuracy, m.topk_hits)}}}};
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

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
      width = std::max(width, tokenizer.encode(rows[i].prompt).ids.size());
    if (static_cast<std::int64_t>(width) >= max_length) count += end - begin;
  }
  return count;
}

// One evaluation (baseline: editor null): generations, label scores, records and metrics.
struct Evaluation {
  std::vector<BiasCorrectionRecord> records;
  nlohmann::json metrics;
};

Evaluation evaluate(const BiasGenArgs& a, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                    Editor* editor, const std::vector<data::MediationSample>& rows,
                    const std::vector<std::string>& labels, const BiasReferences& references,
                    std::size_t overlong) {
  const bool contextual = !a.decontextualized;
  GenerationOptions options;
  options.batch_size = a.batch_size;
  options.max_length = a.max_length;
  options.max_new_tokens = a.max_new_tokens;
  options.top_k = 5;
  options.seed = a.data.seed;
  options.entity_occurrence = bias_edit_occurrence(contextual);
  options.new_tokens_only = true;
  options.overlong_one_token = true;
  options.progress = !a.quiet;
  options.label = editor != nullptr ? "edited generations" : "unedited generations";
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> texts = generate_texts(model, tokenizer, editor, rows, options);
  const double seconds = seconds_since(start);
  const torch::Tensor logp = label_logprobs(model, tokenizer, editor, rows, labels,
                                            bias_edit_occurrence(contextual), a.batch_size, !a.quiet);
  Evaluation e;
  e.records = bias_correction_records(rows, texts, logp, labels, references, kTopPredictions);
  e.metrics = metrics_json(bias_correction_metrics(e.records, kTopPredictions));
  e.metrics["samples"] = rows.size();
  e.metrics["labels"] = labels.size();
  e.metrics["setting"] = contextual ? "contextual" : "decontextual";
  e.metrics["rows_in_overlong_batches"] = overlong;
  e.metrics["generation_seconds"] = seconds;
  return e;
}

// METHOD §8.15 (Bias in Bios, decontextual sweep): the layer with the highest harmonic mean of top-1
// accuracy and fluency; the first such layer on a tie.
nlohmann::json select_layer(const std::vector<std::int64_t>& order, const nlohmann::json& layers) {
  nlohmann::json scores = nlohmann::json::object();
  double best = -1.0;
  nlohmann::json best_layer;  // null when no layer has metrics
  for (const std::int64_t layer : order) {
    const nlohmann::json& m = layers.at(std::to_string(layer));
    if (!m.is_object() || !m.contains("top1_accuracy") || !m.contains("fluency")) continue;
    const double score =
        eval::harmonic_mean({m.at("top1_accuracy").get<double>(), m.at("fluency").at("mean").get<double>()});
    scores[std::to_string(layer)] = score;
    if (score > best) {
      best = score;
      best_layer = layer;
    }
  }
  return {{"rule", "harmonic mean of top-1 accuracy and fluency (docs/METHOD.md 8.15)"},
          {"scores", scores},
          {"best_layer", best_layer}};
}

void run(const BiasGenArgs& a) {
  if (a.max_length < 2) throw Error("<argument>", "--max-length", "must be at least 2");
  if (a.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must not be negative");
  const bool contextual = !a.decontextualized;
  SampleSource everything = a.data;  // every converted row: the TF-IDF vectoriser's bios (METHOD §3.6)
  everything.split.clear();
  const std::vector<data::MediationSample> pool = load_samples(everything);
  const std::vector<data::MediationSample> samples = load_eval_samples(a, 1, /*require_unmediated=*/false);
  const std::vector<data::MediationSample> rows = bias_prompt_rows(samples, contextual);
  const std::vector<std::string> labels = bias_labels(samples);
  const BiasReferences references(pool, samples);
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  for (const std::string& label : labels) first_token_id(tokenizer, label, "label " + label);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  LoadedEditors loaded;
  if (a.editors_given) loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  const std::string setting = contextual ? "contextual" : "decontextual";
  const std::filesystem::path folder = std::filesystem::path(experiment) / setting;
  write_args_file(experiment, args_json(a));
  const std::size_t overlong =
      a.max_new_tokens > 0 ? 0 : overlong_rows(tokenizer, rows, a.batch_size, a.max_length);
  if (overlong > 0 && !a.quiet) {
    std::cerr << overlong << " rows are in batches whose prompts reach --max-length " << a.max_length
              << ": they get one new token (docs/METHOD.md Q12)\n";
  }

  nlohmann::json summary = {{"experiment", experiment}, {"setting", setting}};
  const std::string baseline_file = (folder / "baseline.json").string();
  if (const nlohmann::json earlier = finished_metrics(baseline_file); !earlier.is_null()) {
    summary["baseline"] = earlier.value("metrics", nlohmann::json());
  } else {
    const Evaluation e = evaluate(a, *model, tokenizer, nullptr, rows, labels, references, overlong);
    write_json(baseline_file, {{"samples", records_json(e.records)}, {"metrics", e.metrics}});
    summary["baseline"] = e.metrics;
    if (!a.quiet) {
      std::cerr << setting << " baseline: top-1 " << e.metrics["top1_accuracy"] << ", top-" << kTopPredictions
                << " " << e.metrics["topk_accuracy"] << ", fluency " << e.metrics["fluency"]["mean"]
                << ", consistency " << e.metrics["consistency"]["mean"] << "\n";
    }
  }
  if (a.editors_given) {
    nlohmann::json layers = nlohmann::json::object();
    for (std::size_t i = 0; i < loaded.editors.size(); ++i) {
      const std::int64_t layer = loaded.layers[i];
      const std::filesystem::path out(editor_folder(folder.string(), a.type, layer));
      const std::string records_file = (out / "error_correction.json").string();
      const std::string metrics_file = (out / "error_correction_metrics.json").string();
      if (nlohmann::json earlier = finished_metrics(metrics_file); !earlier.is_null()) {
        layers[std::to_string(layer)] = std::move(earlier);
        continue;
      }
      const Evaluation e =
          evaluate(a, *model, tokenizer, loaded.editors[i].get(), rows, labels, references, overlong);
      write_json(records_file, records_json(e.records));
      write_json(metrics_file, e.metrics);
      layers[std::to_string(layer)] = e.metrics;
      if (!a.quiet) {
        std::cerr << setting << " " << a.type << "/" << layer << ": top-1 " << e.metrics["top1_accuracy"]
                  << ", top-" << kTopPredictions << " " << e.metrics["topk_accuracy"] << ", fluency "
                  << e.metrics["fluency"]["mean"] << ", consistency " << e.metrics["consistency"]["mean"]
                  << "\n";
      }
    }
    summary["type"] = a.type;
    summary["layers"] = layers;
    if (a.decontextualized) {
      summary["layer_selection"] = select_layer(loaded.layers, layers);
      write_json((folder / a.type / "layer_selection.json").string(), summary["layer_selection"]);
    }
  }
  std::cout << summary.dump(2) << "\n";
}

}  // namespace

void register_eval_bias_gen(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<BiasGenArgs>();
  a->data.dataset = "biosbias";
  auto* cmd = app.add_subcommand(
      name,
      "Bias in Bios error correction by generation: unedited baseline and editors (docs/METHOD.md 8.9)");
  add_eval_options(*cmd, *a);
  cmd->add_flag("--decontextualized", a->decontextualized,
                "Prompt without the bio: '<first> has the occupation of' (default: after the bio)");
  cmd->add_option("--max-length", a->max_length,
                  "Total tokens per row including the left-padded prompt (docs/METHOD.md Q12)")
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", a->max_new_tokens,
                  "If positive, new tokens per row whatever the prompts' width (overrides --max-length)")
      ->capture_default_str();
  cmd->callback([a, cmd] {
    // Without -e, -t or -l only the unedited baseline runs.
    a->editors_given = cmd->count("--editors-dir") + cmd->count("--editor-type") + cmd->count("--layers") > 0;
    run(*a);
  });
}

}  // namespace remedi::cli
