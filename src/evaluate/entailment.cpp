#include "evaluate/entailment.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <vector>

#include "data/datasets.h"
#include "eval/metrics.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/entailment.h"
#include "remedi/precompute.h"
#include "util/error.h"

namespace remedi::evaluate {

namespace {

constexpr const char* kStem = "entailment";

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
  const auto list = [](const std::vector<ScoredFeature>& features, bool with_kind) {
    nlohmann::json out = nlohmann::json::array();
    for (const ScoredFeature& f : features) out.push_back(feature_json(f, with_kind));
    return out;
  };
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
    record["co_features"] = list(s.co, false);
    record["orig_features"] = list(s.orig, false);
    record["unrel_features"] = list(s.unrel, false);
    record["dropped_features"] = list(s.dropped, true);
    records.push_back(record);
  }
  return records;
}

void print_line(const std::string& what, const nlohmann::json& m) {
  const auto value = [&](const char* key) {
    return m[key].is_null() ? std::string("null") : std::to_string(m[key]["mean"].get<double>());
  };
  std::cerr << what << " entailment: co_corr_pre " << value("co_corr_pre") << ", co_corr_post "
            << value("co_corr_post") << ", orig_corr_pre " << value("orig_corr_pre") << ", orig_corr_post "
            << value("orig_corr_post") << " (skipped samples: " << m["skipped_samples"].dump() << ")\n";
}

// The checked input of a run and the folders it fills.
struct Prepared {
  EntailmentResults results;  // experiment, dataset_file, synthetic, samples, features filled in
  std::vector<data::MediationSample> samples;
  std::vector<FeatureRow> rows;
  bool prefix = false;
  // Known before loading anything for the baseline and for explicit layers, so that a run with
  // nothing left to do needs no model.
  std::vector<std::string> folders;
};

Prepared prepare(const EntailmentOptions& a) {
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
  Prepared p;
  const std::string file = entailment_dataset_file(a);
  EntailmentOptions resolved = a;
  resolved.data.file = file;
  p.samples = load_eval_samples(resolved, 1, false);
  p.prefix = a.baseline == "prefix";
  p.rows = flatten_features(p.samples, p.prefix, file);
  for (const FeatureRow& row : p.rows) {  // bad probability strings fail before any work
    if (row.kind == FeatureKind::Unrel) continue;
    try {
      reference_logp(row.prob, "sample " + p.samples[row.sample].id + " feature \"" + row.feature + "\" " +
                                   (row.kind == FeatureKind::Co ? "co_prob" : "prob"));
    } catch (const Error& e) {
      throw Error(file, e.field(), e.reason());
    }
  }
  p.results.experiment = experiment_folder(a);
  p.results.dataset_file = file;
  p.results.synthetic = is_synthetic(file);
  p.results.samples = p.samples.size();
  p.results.features = p.rows.size();
  if (p.prefix) p.folders.push_back((std::filesystem::path(p.results.experiment) / "prefix").string());
  for (const std::int64_t layer : a.layers)
    p.folders.push_back(editor_folder(p.results.experiment, a.type, layer));
  return p;
}

// Said once everything has been checked, so that bad input still gives exactly one line; by rank 0
// alone under several ranks.
void warn_if_synthetic(const Prepared& p, const dist::Group* group) {
  if (p.results.synthetic && dist::root(group)) {
    std::cerr << "remedi: warning: " << p.results.dataset_file
              << " is synthetic test data in the McRae layout: these numbers are not McRae results\n";
  }
}

// Every folder of `p` read back, when each has its metrics file (as rank 0 sees them: collective
// under several ranks).
std::optional<EntailmentResults> read_back(const Prepared& p, dist::Group* group) {
  const auto done = [](const std::string& folder) {
    return std::filesystem::exists(eval::metrics_file(folder, kStem));
  };
  bool finished = !p.folders.empty() && std::all_of(p.folders.begin(), p.folders.end(), done);
  if (group != nullptr) finished = from_root(*group, finished).get<bool>();
  if (!finished) return std::nullopt;
  warn_if_synthetic(p, group);
  EntailmentResults results = p.results;
  for (const std::string& folder : p.folders) {
    nlohmann::json metrics = finished_metrics(group, eval::metrics_file(folder, kStem));
    metrics["skipped_existing"] = true;
    if (p.prefix) {
      results.metrics = metrics;
    } else {
      results.layers[std::filesystem::path(folder).filename().string()] = metrics;
    }
  }
  return results;
}

}  // namespace

nlohmann::json EntailmentResults::summary(const std::string& type) const {
  nlohmann::json out = {{"experiment", experiment},
                        {"dataset_file", dataset_file},
                        {"synthetic_data", synthetic},
                        {"samples", samples},
                        {"features", features}};
  if (!metrics.is_null()) {
    out["baseline"] = "prefix";
    out["metrics"] = metrics;
  }
  if (!layers.is_null()) {
    out["type"] = type;
    out["layers"] = layers;
  }
  return out;
}

std::string entailment_dataset_file(const EntailmentOptions& a) {
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

std::optional<EntailmentResults> finished_entailment(const EntailmentOptions& options) {
  return read_back(prepare(options), options.group.get());
}

namespace {

// score_feature_targets of every row, each rank scoring its batches of the sequences one process
// scores: every row with an editor; unedited, each distinct sequence once (first occurrences, in
// order, as score_feature_targets itself keeps them), so that the batches are the same. Group null:
// score_feature_targets itself. Collective.
std::vector<double> sharded_feature_scores(dist::Group* group, const lm::LoadedModel& model, Editor* editor,
                                           const EditorInputs* inputs,
                                           const std::vector<data::MediationSample>& samples,
                                           const std::vector<FeatureRow>& rows,
                                           const TargetScoringOptions& options) {
  if (group == nullptr)
    return score_feature_targets(model.lm(), model.tok(), editor, inputs, samples, rows, options);
  const FeatureRuns runs = feature_runs(rows, editor != nullptr);  // what one process runs, in order
  std::vector<FeatureRow> scored;
  for (const std::size_t r : runs.run) scored.push_back(rows[r]);
  const torch::Tensor sums =
      sharded_rows(group, scored.size(), options.batch_size, 1, [&](std::size_t begin, std::size_t end) {
        TargetScoringOptions local = options;
        local.progress = options.progress && group->root();
        const std::vector<double> mine = score_feature_targets(model.lm(), model.tok(), editor, inputs,
                                                               samples, rows_of(scored, begin, end), local);
        return std::vector<torch::Tensor>{torch::tensor(mine, torch::kFloat64)};
      })[0];
  std::vector<double> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    out[r] = sums[static_cast<std::int64_t>(runs.result_of[r])].item<double>();
  return out;
}

EntailmentResults entailment_body(const lm::LoadedModel& model, const EntailmentOptions& a) {
  const Prepared p = prepare(a);
  // Several ranks: each scores its batches of feature rows and precomputes its batches of samples;
  // every rank groups the gathered scores, rank 0 writes.
  dist::Group* group = a.group.get();
  if (std::optional<EntailmentResults> done = read_back(p, group)) return *done;
  const std::string& file = p.results.dataset_file;
  EntailmentResults results = p.results;
  TargetScoringOptions scoring;
  scoring.batch_size = a.batch_size;
  scoring.target_first_occurrence = a.target_first_occurrence;
  scoring.progress = !a.quiet;
  const auto write = [&](const std::string& folder, const nlohmann::json& metrics,
                         const nlohmann::json& records) {
    results.computed = true;
    if (!writes(group)) return;
    // Records first, metrics last: an existing metrics file marks a finished run (finished_metrics).
    write_json(eval::records_file(folder, kStem), records);
    write_json(eval::metrics_file(folder, kStem), metrics);
  };
  if (p.prefix) {
    warn_if_synthetic(p, group);
    // The plain prompts' unedited scores give the notebook's prefix Δp (prefix minus no context).
    // Scored in one pass with the prefix rows, so that a sequence both have (every unrelated
    // feature) gets one score and a Δp of exactly 0.
    std::vector<FeatureRow> both = p.rows;
    const std::vector<FeatureRow> plain = flatten_features(p.samples, false, file);
    both.insert(both.end(), plain.begin(), plain.end());
    scoring.label = "prefix";
    const std::vector<double> scores =
        sharded_feature_scores(group, model, nullptr, nullptr, p.samples, both, scoring);
    const auto half = scores.begin() + static_cast<std::ptrdiff_t>(p.rows.size());
    const std::vector<double> pre(scores.begin(), half);
    const std::vector<double> no_context(half, scores.end());
    const std::vector<SampleEntailment> grouped =
        group_features(p.samples.size(), p.rows, pre, nullptr, &no_context);
    results.metrics = metrics_json(grouped, false, true, file, a.target_first_occurrence);
    write(p.folders.front(), results.metrics, records_json(p.samples, grouped));
    if (!a.quiet) print_line("prefix", results.metrics);
    return results;
  }
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, model.lm());
  warn_if_synthetic(p, group);
  results.layers = nlohmann::json::object();
  std::optional<std::vector<double>> pre;  // unedited: the same for every layer
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const std::string folder = editor_folder(results.experiment, a.type, layer);
    if (nlohmann::json metrics = finished_metrics(group, eval::metrics_file(folder, kStem));
        !metrics.is_null()) {
      metrics["skipped_existing"] = true;
      results.layers[std::to_string(layer)] = metrics;
      continue;
    }
    if (!pre) {
      scoring.label = "unedited";
      pre = sharded_feature_scores(group, model, nullptr, nullptr, p.samples, p.rows, scoring);
    }
    PrecomputeOptions precompute;
    precompute.layer = layer;
    precompute.batch_size = a.batch_size;
    precompute.progress = !a.quiet;
    const EditorInputs inputs = sharded_editor_inputs(group, model.lm(), model.tok(), p.samples, precompute);
    scoring.label = a.type + "/" + std::to_string(layer);
    const std::vector<double> post =
        sharded_feature_scores(group, model, loaded.editors[e].get(), &inputs, p.samples, p.rows, scoring);
    const std::vector<SampleEntailment> grouped =
        group_features(p.samples.size(), p.rows, *pre, &post, nullptr);
    const nlohmann::json metrics = metrics_json(grouped, true, true, file, a.target_first_occurrence);
    write(folder, metrics, records_json(p.samples, grouped));
    if (!a.quiet) print_line(a.type + "/" + std::to_string(layer), metrics);
    results.layers[std::to_string(layer)] = metrics;
  }
  return results;
}

}  // namespace

EntailmentResults entailment(const lm::LoadedModel& model, const EntailmentOptions& a) {
  return naming_data_file(entailment_dataset_file(a), [&] { return entailment_body(model, a); });
}

}  // namespace remedi::evaluate
