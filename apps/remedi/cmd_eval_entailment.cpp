// `remedi eval entailment` (also `eval-entailment`): the McRae entailment benchmark of METHOD §8.11. Each
// sample's co-occurring, original and unrelated features are scored as "<prompt> <target>" by the unedited
// LM and by the LM edited with the sample's context; per sample, Pearson's r of those log-probabilities
// with the norms' (co_prob, prob) says whether the edit made the LM believe what the norms entail, and
// the mean probability change per kind (the paper's Δp) how far it moved. With --baseline prefix the
// context is written before the co and original prompts instead (unedited LM only). Writes
// <results>/<name>/<type>/<layer>/entailment.json (per sample) and entailment_metrics.json, or
// <results>/<name>/prefix/..., plus an args file.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/datasets.h"
#include "eval/metrics.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/entailment.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct EntailmentArgs : EvalOptions {
  EntailmentArgs() { data.dataset = "mcrae"; }
  std::string baseline;  // "" or "prefix"
  bool target_first_occurrence = false;
};

nlohmann::json args_json(const EntailmentArgs& a, const std::string& dataset_file) {
  nlohmann::json args = eval_options_json(a);
  args["dataset"] = a.data.dataset;
  args["dataset_file"] = dataset_file;
  args["cmudict"] = a.data.cmudict;
  args["baseline"] = a.baseline;
  args["target_span"] = a.target_first_occurrence ? "first_occurrence" : "suffix";
  return args;
}

// The McRae input: -f, else the default under the data folder, which is not shipped (the norms are not
// redistributable), so its absence gets an error that says where to put it.
std::string dataset_file(const EntailmentArgs& a) {
  if (!a.data.file.empty()) return a.data.file;
  const std::string path = std::filesystem::path(data::default_dataset_path(a.data.dataset, data_dir()))
                               .lexically_normal()
                               .string();
  if (!std::filesystem::exists(path)) {
    throw Error(
        path, "",
        "missing: put the McRae norms there (CONCS_FEATS_concstats_brm.txt from McRae et al. 2005's "
        "supplementary material), set $REMEDI_DATA to a folder holding mcrae/CONCS_FEATS_concstats_brm.txt, "
        "or pass -f FILE; tests/fixtures/data/mcrae_synthetic.tsv is a synthetic stand-in whose numbers "
        "are not McRae results");
  }
  return path;
}

bool is_synthetic(const std::string& file) {
  return std::filesystem::path(file).filename().string().find("synthetic") != std::string::npos;
}

// {mean, std, ci95} (percentile bootstrap of the mean, as eval fact-gen), or null when no sample has
// a value.
nlohmann::json summary_json(const std::optional<eval::CorrelationSummary>& s) {
  if (!s || !s->aggregate) return nullptr;
  return aggregate_json(*s->aggregate);
}

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json metrics_json(const std::vector<SampleEntailment>& samples, bool post, bool delta,
                            const std::string& file, bool first_occurrence) {
  const EntailmentMetrics m = entailment_metrics(samples, post, delta);
  nlohmann::json skipped = nlohmann::json::object();
  const auto add = [&](nlohmann::json& out, const char* name,
                       const std::optional<eval::CorrelationSummary>& s) {
    out[name] = summary_json(s);
    if (s) skipped[name] = s->skipped;
  };
  nlohmann::json out = nlohmann::json::object();
  add(out, "orig_corr_pre", m.orig_corr_pre);
  add(out, "orig_corr_post", m.orig_corr_post);
  add(out, "co_corr_pre", m.co_corr_pre);
  add(out, "co_corr_post", m.co_corr_post);
  add(out, "co_delta_prob", m.co_delta_prob);
  add(out, "orig_delta_prob", m.orig_delta_prob);
  add(out, "unrel_delta_prob", m.unrel_delta_prob);
  out["skipped_samples"] = skipped;
  out["delta_prob_definition"] =
      "per sample, the mean over its features of a probability change in probability units (x1; the paper's "
      "table prints x100): exp(logp_post) - exp(logp_pre) with an editor, exp(logp_pre) - "
      "exp(logp_no_context) for the prefix baseline";
  std::size_t co = 0;
  std::size_t orig = 0;
  std::size_t unrel = 0;
  std::size_t dropped = 0;
  for (const SampleEntailment& s : samples) {
    co += s.co.size();
    orig += s.orig.size();
    unrel += s.unrel.size();
    dropped += s.dropped.size();
  }
  out["samples"] = samples.size();
  out["features"] = {{"co", co}, {"orig", orig}, {"unrel", unrel}, {"dropped_zero_prob", dropped}};
  out["target_span"] = first_occurrence ? "first_occurrence" : "suffix";
  out["dataset_file"] = file;
  out["synthetic_data"] = is_synthetic(file);
  return out;
}

nlohmann::json feature_json(const ScoredFeature& f, bool with_kind) {
  nlohmann::json out = {{"feature", f.row.feature}, {"prompt", f.row.prompt}, {"target", f.row.target}};
  if (with_kind) out["kind"] = feature_kind_name(f.row.kind);
  if (f.row.kind == FeatureKind::Co) out["co_prob"] = f.row.prob;
  if (f.row.kind == FeatureKind::Orig) out["prob"] = f.row.prob;
  out["logp_ref"] = optional_json(f.logp_ref);
  out["logp_pre"] = f.logp_pre;
  out["logp_post"] = optional_json(f.logp_post);
  if (f.logp_no_context) out["logp_no_context"] = *f.logp_no_context;
  out["delta_prob"] = optional_json(f.delta_prob);
  return out;
}

nlohmann::json records_json(const std::vector<data::MediationSample>& samples,
                            const std::vector<SampleEntailment>& grouped) {
  nlohmann::json records = nlohmann::json::array();
  for (const SampleEntailment& s : grouped) {
    const data::MediationSample& sample = samples[s.sample];
    nlohmann::json record = {{"id", sample.id},
                             {"entity", sample.entity},
                             {"context", sample.context},
                             {"attribute", sample.attribute},
                             {"co_corr_pre", optional_json(s.co_corr_pre)},
                             {"co_corr_post", optional_json(s.co_corr_post)},
                             {"orig_corr_pre", optional_json(s.orig_corr_pre)},
                             {"orig_corr_post", optional_json(s.orig_corr_post)},
                             {"co_delta_prob", optional_json(s.co_delta_prob)},
                             {"orig_delta_prob", optional_json(s.orig_delta_prob)},
                             {"unrel_delta_prob", optional_json(s.unrel_delta_prob)}};
    const auto list = [](const std::vector<ScoredFeature>& features, bool with_kind) {
      nlohmann::json out = nlohmann::json::array();
      for (const ScoredFeature& f : features) out.push_back(feature_json(f, with_kind));
      return out;
    };
    record["co_features"] = list(s.co, false);
    record["orig_features"] = list(s.orig, false);
    record["unrel_features"] = list(s.unrel, false);
    record["dropped_features"] = list(s.dropped, true);
    records.push_back(record);
  }
  return records;
}

std::string metrics_file(const std::filesystem::path& folder) {
  return (folder / "entailment_metrics.json").string();
}

// Records first, metrics last: an existing metrics file marks a finished run (finished_metrics).
void write_results(const std::filesystem::path& folder, const nlohmann::json& metrics,
                   const nlohmann::json& records) {
  write_json((folder / "entailment.json").string(), records);
  write_json(metrics_file(folder), metrics);
}

void print_line(const std::string& what, const nlohmann::json& m) {
  const auto value = [&](const char* key) {
    return m[key].is_null() ? std::string("null") : std::to_string(m[key]["mean"].get<double>());
  };
  std::cerr << what << " entailment: co_corr_pre " << value("co_corr_pre") << ", co_corr_post "
            << value("co_corr_post") << ", orig_corr_pre " << value("orig_corr_pre") << ", orig_corr_post "
            << value("orig_corr_post") << " (skipped samples: " << m["skipped_samples"].dump() << ")\n";
}

void run(const EntailmentArgs& a) {
  if (!a.baseline.empty()) {
    if (a.baseline != "prefix") {
      throw Error("<argument>", "--baseline",
                  "'" + a.baseline +
                      "' is not available for entailment (only prefix; the original rejects replace too)");
    }
    if (!a.layers.empty() || !a.editors.empty())
      throw Error("<argument>", "--baseline",
                  "runs the unedited LM: --layers and --editors-dir must be absent");
  }
  const std::string file = dataset_file(a);
  EntailmentArgs resolved = a;
  resolved.data.file = file;
  const std::vector<data::MediationSample> samples = load_eval_samples(resolved, 1, false);
  const bool prefix = a.baseline == "prefix";
  const std::vector<FeatureRow> rows = flatten_features(samples, prefix, file);
  for (const FeatureRow& row : rows) {  // bad probability strings fail before any work
    if (row.kind == FeatureKind::Unrel) continue;
    try {
      reference_logp(row.prob, "sample " + samples[row.sample].id + " feature \"" + row.feature + "\" " +
                                   (row.kind == FeatureKind::Co ? "co_prob" : "prob"));
    } catch (const Error& e) {
      throw Error(file, e.field(), e.reason());
    }
  }
  // Said once everything has been checked, so that bad input still gives exactly one line.
  const bool synthetic = is_synthetic(file);
  const auto warn_if_synthetic = [&] {
    if (synthetic) {
      std::cerr << "remedi: warning: " << file
                << " is synthetic test data in the McRae layout: these numbers are not McRae results\n";
    }
  };
  const std::filesystem::path experiment = std::filesystem::path(results_dir(a.results)) / a.name;
  nlohmann::json summary = {{"experiment", experiment.string()},
                            {"dataset_file", file},
                            {"synthetic_data", synthetic},
                            {"samples", samples.size()},
                            {"features", rows.size()}};
  // The folders to fill: known before loading anything for the baseline and for explicit layers, so
  // that a run with nothing left to do returns at once.
  std::vector<std::filesystem::path> folders;
  if (prefix) folders.push_back(experiment / "prefix");
  for (const std::int64_t layer : a.layers)
    folders.push_back(editor_folder(experiment.string(), a.type, layer));
  const auto done = [](const std::filesystem::path& folder) {
    return std::filesystem::exists(metrics_file(folder));
  };
  if (!folders.empty() && std::all_of(folders.begin(), folders.end(), done)) {
    warn_if_synthetic();
    for (const std::filesystem::path& folder : folders) {
      nlohmann::json metrics = finished_metrics(metrics_file(folder));
      metrics["skipped_existing"] = true;
      if (prefix) {
        summary["baseline"] = "prefix";
        summary["metrics"] = metrics;
      } else {
        summary["type"] = a.type;
        summary["layers"][folder.filename().string()] = metrics;
      }
    }
    std::cout << summary.dump(2) << "\n";
    return;
  }
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  TargetScoringOptions scoring;
  scoring.batch_size = a.batch_size;
  scoring.target_first_occurrence = a.target_first_occurrence;
  scoring.progress = !a.quiet;
  bool args_written = false;
  const auto write = [&](const std::filesystem::path& folder, const nlohmann::json& metrics,
                         const nlohmann::json& records) {
    if (!args_written) write_args_file(experiment.string(), args_json(a, file));
    args_written = true;
    write_results(folder, metrics, records);
  };
  if (prefix) {
    warn_if_synthetic();
    // The plain prompts' unedited scores give the notebook's prefix Δp (prefix minus no context).
    // Scored in one pass with the prefix rows, so that a sequence both have (every unrelated
    // feature) gets one score and a Δp of exactly 0.
    std::vector<FeatureRow> both = rows;
    const std::vector<FeatureRow> plain = flatten_features(samples, false, file);
    both.insert(both.end(), plain.begin(), plain.end());
    scoring.label = "prefix";
    const std::vector<double> scores =
        score_feature_targets(*model, tokenizer, nullptr, nullptr, samples, both, scoring);
    const auto half = scores.begin() + static_cast<std::ptrdiff_t>(rows.size());
    const std::vector<double> pre(scores.begin(), half);
    const std::vector<double> no_context(half, scores.end());
    const std::vector<SampleEntailment> grouped =
        group_features(samples.size(), rows, pre, nullptr, &no_context);
    const nlohmann::json metrics = metrics_json(grouped, false, true, file, a.target_first_occurrence);
    write(folders.front(), metrics, records_json(samples, grouped));
    if (!a.quiet) print_line("prefix", metrics);
    summary["baseline"] = "prefix";
    summary["metrics"] = metrics;
    std::cout << summary.dump(2) << "\n";
    return;
  }
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  warn_if_synthetic();
  summary["type"] = a.type;
  summary["layers"] = nlohmann::json::object();
  std::optional<std::vector<double>> pre;  // unedited: the same for every layer
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const std::filesystem::path folder = editor_folder(experiment.string(), a.type, layer);
    if (nlohmann::json metrics = finished_metrics(metrics_file(folder)); !metrics.is_null()) {
      metrics["skipped_existing"] = true;
      summary["layers"][std::to_string(layer)] = metrics;
      continue;
    }
    if (!pre) {
      scoring.label = "unedited";
      pre = score_feature_targets(*model, tokenizer, nullptr, nullptr, samples, rows, scoring);
    }
    PrecomputeOptions precompute;
    precompute.layer = layer;
    precompute.batch_size = a.batch_size;
    precompute.progress = !a.quiet;
    const EditorInputs inputs = precompute_editor_inputs(*model, tokenizer, samples, precompute);
    scoring.label = a.type + "/" + std::to_string(layer);
    const std::vector<double> post =
        score_feature_targets(*model, tokenizer, loaded.editors[e].get(), &inputs, samples, rows, scoring);
    const std::vector<SampleEntailment> grouped = group_features(samples.size(), rows, *pre, &post, nullptr);
    const nlohmann::json metrics = metrics_json(grouped, true, true, file, a.target_first_occurrence);
    write(folder, metrics, records_json(samples, grouped));
    if (!a.quiet) print_line(a.type + "/" + std::to_string(layer), metrics);
    summary["layers"][std::to_string(layer)] = metrics;
  }
  std::cout << summary.dump(2) << "\n";
}

}  // namespace

void register_eval_entailment(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<EntailmentArgs>();
  auto* cmd = app.add_subcommand(
      name, "McRae entailment: do edits move the features the norms say co-occur with the stated one?");
  add_eval_options(*cmd, *a);
  cmd->add_option("--cmudict", a->data.cmudict,
                  "CMU pronouncing dictionary for the articles (default: spelling rules, docs/DATA.md)");
  cmd->add_option(
      "--baseline", a->baseline,
      "prefix (the context before the co and original prompts), with the unedited LM; no --layers "
      "or --editors-dir");
  cmd->add_flag("--faithful-target-span", a->target_first_occurrence,
                "Score the target's first occurrence in the sequence, as the original (docs/METHOD.md Q8), "
                "not its suffix");
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
