#include "evaluate/fact_gen.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "data/derived.h"
#include "eval/layer_selection.h"
#include "eval/metrics.h"
#include "eval/results_layout.h"
#include "evaluate/fact_gen_prompts.h"
#include "evaluate/fact_gen_references.h"
#include "evaluate/sharded.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/generation.h"
#include "remedi/scoring.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi::evaluate {

namespace {

// Rank 0 alone writes (the other ranks hold the same gathered results).
void write_result(const FactGenOptions& o, const std::string& path, const nlohmann::json& value) {
  if (writes(o.group.get())) write_json(path, value);
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

nlohmann::json scores_json(const tok::Tokenizer& tokenizer, const TargetScores& scores, std::int64_t row,
                           const std::string& prefix) {
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json logps = nlohmann::json::array();
  for (std::int64_t k = 0; k < scores.top_ids.size(1); ++k) {
    tokens.push_back(tokenizer.decode({scores.top_ids[row][k].item<std::int64_t>()}));
    logps.push_back(scores.top_logp[row][k].item<double>());
  }
  return {{prefix + "top_tokens", tokens},
          {prefix + "top_logps", logps},
          {prefix + "target_mediated_score", scores.mediated_logp[row].item<double>()},
          {prefix + "target_unmediated_score", scores.unmediated_logp[row].item<double>()}};
}

// Per row: the row as a sample record with the "before_" scores and, when `after` is given, the
// "after_" ones (top tokens and log-probs, the two targets' log-probs).
nlohmann::json records_json(const tok::Tokenizer& tokenizer, const std::vector<data::MediationSample>& rows,
                            const TargetScores& before, const TargetScores* after) {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    nlohmann::json record = data::sample_to_json(rows[r]);
    record.update(scores_json(tokenizer, before, static_cast<std::int64_t>(r), "before_"));
    if (after != nullptr)
      record.update(scores_json(tokenizer, *after, static_cast<std::int64_t>(r), "after_"));
    results.push_back(record);
  }
  return results;
}

// Efficacy metrics of per-sample groups of rows: p(target_new) > p(target_true), or for the
// neighbourhood benchmark (`keeps_true`) p(target_true) > p(target_new), ROME's neighbourhood success.
eval::EfficacyMetrics group_efficacy(const TargetScores& scores, const std::vector<std::size_t>& owner,
                                     std::size_t groups, bool keeps_true) {
  std::vector<std::vector<double>> targets(groups);
  std::vector<std::vector<double>> comparators(groups);
  for (std::size_t r = 0; r < owner.size(); ++r) {
    const double mediated = scores.mediated_logp[static_cast<std::int64_t>(r)].item<double>();
    const double unmediated = scores.unmediated_logp[static_cast<std::int64_t>(r)].item<double>();
    targets[owner[r]].push_back(keeps_true ? unmediated : mediated);
    comparators[owner[r]].push_back(keeps_true ? mediated : unmediated);
  }
  return eval::efficacy(targets, comparators, eval::ProbabilityScale::kLogProbability);
}

nlohmann::json efficacy_json(const eval::EfficacyMetrics& m) {
  return {{"score", aggregate_json(m.score)}, {"magnitude", aggregate_json(m.magnitude)}};
}

// A scored benchmark's prompts (efficacy, paraphrase, neighborhood): the rows, the sample each row
// belongs to, and how to score them.
struct ScoredBenchmark {
  std::string name;
  PromptRows prompts;
  ScoringOptions scoring;
  bool keeps_true = false;  // neighbourhood: success is p(target_true) > p(target_new)
};

ScoredBenchmark scored_benchmark(const std::string& benchmark,
                                 const std::vector<data::MediationSample>& samples,
                                 const ScoringOptions& options) {
  ScoredBenchmark b;
  b.name = benchmark;
  if (benchmark == "paraphrase" || benchmark == "neighborhood") {
    const std::string field = benchmark + "_prompts";
    b.prompts =
        flatten_prompts(samples, [&](const data::MediationSample& s) { return source_prompts(s, field); });
  } else {
    b.prompts.rows = samples;
    for (std::size_t i = 0; i < samples.size(); ++i) b.prompts.owner.push_back(i);
  }
  b.scoring = options;
  // Neighbourhood prompts are about other subjects: the edit goes where the method puts it, the
  // entity's mention in the prompt, and a prompt that does not mention it is not edited.
  b.keeps_true = benchmark == "neighborhood";
  b.scoring.allow_missing_entity = b.keeps_true;
  return b;
}

GenerationOptions generation_options(const FactGenOptions& o) {
  GenerationOptions options;
  options.batch_size = o.batch_size;
  options.max_length = o.max_length;
  options.seed = o.data.seed;
  options.progress = !o.quiet;
  return options;
}

// The generation benchmark's rows and references, shared by the editors and baselines of a run.
struct GenerationSetup {
  PromptRows prompts;
  GenerationReferences refs;
  GenerationOptions options;
};

// Writes the references file (read back or generated) into the experiment's folder.
GenerationSetup prepare_generation(const FactGenOptions& o, const std::vector<data::MediationSample>& samples,
                                   const SubjectIndex& index, const lm::LoadedModel& model,
                                   const std::string& experiment) {
  GenerationSetup g;
  g.options = generation_options(o);
  g.options.allow_missing_entity = true;  // a paraphrase may name the subject differently: left unedited
  g.prompts = flatten_prompts(samples, generation_prompts);
  g.refs = build_references(samples, index, model, g.options, experiment);
  write_result(o, g.refs.file, g.refs.json);
  return g;
}

// Generation metrics with what the metrics file adds about the references and the run.
nlohmann::json generation_json(const GenerationMetrics& m, const GenerationSetup& g, double seconds) {
  nlohmann::json metrics = generation_metrics_json(m);
  metrics["samples_without_references"] = g.refs.without_references;
  metrics["references_file"] = std::filesystem::path(g.refs.file).filename().string();
  metrics["generation_seconds"] = seconds;
  metrics["prompts"] = g.prompts.rows.size();
  return metrics;
}

// The texts after `contexts[r]` where a text starts with it (the baselines' prepended contexts).
void cut_contexts(std::vector<std::string>& texts, const std::vector<std::string>& contexts) {
  for (std::size_t r = 0; r < texts.size(); ++r) {
    if (!contexts[r].empty() && texts[r].starts_with(contexts[r]))
      texts[r] = texts[r].substr(contexts[r].size());
  }
}

// A baseline (METHOD §8.7): the unedited LM on prompts with the context prepended (prefix) or with the
// entity replaced (replace). Neighbourhood and generation prompts get the context prepended too
// (prefix); the prepended context is cut from the generated texts before they are scored.
nlohmann::json run_baseline(const FactGenOptions& o, const lm::LoadedModel& model,
                            std::vector<data::MediationSample> samples, const SubjectIndex& index,
                            const std::string& experiment, const ScoringOptions& options) {
  const std::vector<data::MediationSample> original = samples;  // essence compares against these
  std::size_t dropped = 0;
  if (o.baseline == "replace") {
    samples = replace_entities(samples, index, o.data.seed, dropped);
    if (samples.empty())
      throw Error("<argument>", "--baseline replace", "no sample has a replacement entity");
  }
  const std::string folder = (std::filesystem::path(experiment) / o.baseline).string();
  nlohmann::json summary = nlohmann::json::object();
  for (const std::string& benchmark : o.benchmarks) {
    nlohmann::json metrics = finished_metrics(o.group.get(), eval::metrics_file(folder, benchmark));
    if (!metrics.is_null()) {
      summary[benchmark] = std::move(metrics);
      continue;
    }
    if (benchmark == "generation") {
      GenerationSetup g = prepare_generation(o, samples, index, model, experiment);
      std::vector<data::MediationSample>& rows = g.prompts.rows;
      std::vector<std::string> contexts(rows.size());  // the prepended part of each prompt
      if (o.baseline == "prefix") {
        for (std::size_t r = 0; r < rows.size(); ++r) {
          const std::string prompt = data::prompt_in_context(rows[r]);
          contexts[r] = prompt.substr(0, prompt.size() - rows[r].prompt.size());
          rows[r].prompt = prompt;
        }
      }
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> texts =
          sharded_texts(o.group.get(), model.lm(), model.tok(), nullptr, rows, g.options);
      const double seconds = seconds_since(start);
      cut_contexts(texts, contexts);
      const GenerationMetrics m = generation_metrics(texts, g.prompts.owner, g.refs);
      metrics = generation_json(m, g, seconds);
      write_result(o, eval::records_file(folder, benchmark), generation_records(rows, texts, nullptr));
      if (!o.quiet) std::cerr << o.baseline << " generation: fluency " << m.fluency.mean << "\n";
    } else if (benchmark == "essence") {
      // prefix: the context goes between the Wikipedia prefix and "<entity> is" and is cut from the
      // text afterwards (the original splits on ". "); replace: "<r> is" against the references of the
      // original entity (METHOD §8.7).
      const GenerationOptions sampling = generation_options(o);
      const EssenceReferences e = essence_references(original, model, sampling, experiment);
      std::vector<data::MediationSample> rows = essence_rows(samples);
      std::vector<std::string> contexts(rows.size());
      if (o.baseline == "prefix") {
        for (std::size_t i = 0; i < rows.size(); ++i) {
          const std::string statement = samples[i].entity + " is";
          const std::string in_context =
              data::prompt_in_context(samples[i].entity, statement, samples[i].context, {});
          contexts[i] = in_context.substr(0, in_context.size() - statement.size());
          rows[i].prompt = kWikipediaPrefix + in_context;
        }
      }
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> texts =
          sharded_texts(o.group.get(), model.lm(), model.tok(), nullptr, rows, sampling);
      const double seconds = seconds_since(start);
      for (std::string& text : texts) text = cut_wikipedia_prefix(text);
      cut_contexts(texts, contexts);
      metrics = essence_metrics_json(samples, texts, e);
      metrics["generation_seconds"] = seconds;
      write_result(o, eval::records_file(folder, benchmark), essence_records(rows, texts, e));
      if (!o.quiet) std::cerr << o.baseline << " essence: " << metrics["essence"]["mean"] << "\n";
    } else {
      ScoredBenchmark b = scored_benchmark(benchmark, samples, options);
      b.scoring.allow_missing_entity = true;  // the unedited LM edits nothing
      if (o.baseline == "prefix") {
        for (data::MediationSample& row : b.prompts.rows) row.prompt = data::prompt_in_context(row);
      }
      const TargetScores scores =
          sharded_scores(o.group.get(), model.lm(), model.tok(), nullptr, b.prompts.rows, b.scoring);
      const eval::EfficacyMetrics m = group_efficacy(scores, b.prompts.owner, samples.size(), b.keeps_true);
      metrics = efficacy_json(m);
      metrics["prompts"] = b.prompts.rows.size();
      write_result(o, eval::records_file(folder, benchmark),
                   records_json(model.tok(), b.prompts.rows, scores, nullptr));
      if (!o.quiet) std::cerr << o.baseline << " " << benchmark << ": score " << m.score.mean << "\n";
    }
    metrics["samples"] = samples.size();
    if (o.baseline == "replace") metrics["samples_without_replacement"] = dropped;
    write_result(o, eval::metrics_file(folder, benchmark), metrics);
    summary[benchmark] = metrics;
  }
  return summary;
}

// The editors' run: every (layer, benchmark) not finished before.
nlohmann::json run_editors(const FactGenOptions& o, const lm::LoadedModel& model,
                           const std::vector<data::MediationSample>& samples, const SubjectIndex& index,
                           const LoadedEditors& loaded, const std::string& experiment,
                           const ScoringOptions& options) {
  const std::vector<std::int64_t>& layers = loaded.layers;
  // METHOD §8.14: a (layer, benchmark) whose metrics file exists was run before; its numbers are read
  // back for the summary and the layer selection, and the unedited work of a benchmark every layer
  // has done is skipped too.
  nlohmann::json summary = nlohmann::json::object();
  std::set<std::pair<std::int64_t, std::string>> finished;
  for (const std::int64_t layer : layers) {
    for (const std::string& benchmark : o.benchmarks) {
      nlohmann::json earlier = finished_metrics(
          o.group.get(), eval::metrics_file(editor_folder(experiment, o.type, layer), benchmark));
      if (earlier.is_null()) continue;
      summary[std::to_string(layer)][benchmark] = std::move(earlier);
      finished.insert({layer, benchmark});
    }
  }
  const auto pending = [&](const std::string& benchmark) {
    return contains(o.benchmarks, benchmark) &&
           std::any_of(layers.begin(), layers.end(), [&](std::int64_t layer) {
             return finished.count({layer, benchmark}) == 0;
           });
  };
  // The unedited scores and generations do not depend on the layer: computed once per benchmark.
  std::vector<ScoredBenchmark> benchmarks;
  std::vector<TargetScores> unedited_scores;
  std::optional<GenerationSetup> g;
  std::vector<std::string> unedited_texts;
  if (pending("generation")) {
    g = prepare_generation(o, samples, index, model, experiment);
    unedited_texts =
        sharded_texts(o.group.get(), model.lm(), model.tok(), nullptr, g->prompts.rows, g->options);
  }
  std::optional<EssenceReferences> essence;
  if (pending("essence")) essence = essence_references(samples, model, generation_options(o), experiment);
  for (const std::string& benchmark : o.benchmarks) {
    if (benchmark == "generation" || benchmark == "essence" || !pending(benchmark)) continue;
    benchmarks.push_back(scored_benchmark(benchmark, samples, options));
    unedited_scores.push_back(sharded_scores(o.group.get(), model.lm(), model.tok(), nullptr,
                                             benchmarks.back().prompts.rows, benchmarks.back().scoring));
  }
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    const std::int64_t layer = layers[e];
    Editor* editor = loaded.editors[e].get();
    const std::string folder = editor_folder(experiment, o.type, layer);
    const auto done = [&](const std::string& benchmark) { return finished.count({layer, benchmark}) > 0; };
    for (std::size_t i = 0; i < benchmarks.size(); ++i) {
      const ScoredBenchmark& b = benchmarks[i];
      if (done(b.name)) continue;
      const TargetScores& before = unedited_scores[i];
      const TargetScores after =
          sharded_scores(o.group.get(), model.lm(), model.tok(), editor, b.prompts.rows, b.scoring);
      const eval::EfficacyMetrics edited =
          group_efficacy(after, b.prompts.owner, samples.size(), b.keeps_true);
      const eval::EfficacyMetrics unedited =
          group_efficacy(before, b.prompts.owner, samples.size(), b.keeps_true);
      nlohmann::json metrics = efficacy_json(edited);
      metrics["unedited"] = efficacy_json(unedited);
      metrics["samples"] = samples.size();
      metrics["prompts"] = b.prompts.rows.size();
      write_result(o, eval::records_file(folder, b.name),
                   records_json(model.tok(), b.prompts.rows, before, &after));
      write_result(o, eval::metrics_file(folder, b.name), metrics);
      summary[std::to_string(layer)][b.name] = metrics;
      if (!o.quiet) {
        std::cerr << o.type << "/" << layer << " " << b.name << ": score " << edited.score.mean
                  << " (unedited " << unedited.score.mean << "), magnitude " << edited.magnitude.mean << "\n";
      }
    }
    if (g && !done("generation")) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<std::string> texts =
          sharded_texts(o.group.get(), model.lm(), model.tok(), editor, g->prompts.rows, g->options);
      const double seconds = seconds_since(start);
      const GenerationMetrics edited = generation_metrics(texts, g->prompts.owner, g->refs);
      nlohmann::json metrics = generation_json(edited, *g, seconds);
      metrics["unedited"] =
          generation_metrics_json(generation_metrics(unedited_texts, g->prompts.owner, g->refs));
      metrics["samples"] = samples.size();
      write_result(o, eval::records_file(folder, "generation"),
                   generation_records(g->prompts.rows, unedited_texts, &texts));
      write_result(o, eval::metrics_file(folder, "generation"), metrics);
      summary[std::to_string(layer)]["generation"] = metrics;
      if (!o.quiet) {
        std::cerr << o.type << "/" << layer << " generation: fluency " << edited.fluency.mean
                  << ", consistency " << edited.consistency.mean << " (" << seconds << " s)\n";
      }
    }
    if (essence && !done("essence")) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<data::MediationSample> rows = essence_rows(samples);
      std::vector<std::string> texts =
          sharded_texts(o.group.get(), model.lm(), model.tok(), editor, rows, generation_options(o));
      const double seconds = seconds_since(start);
      for (std::string& text : texts) text = cut_wikipedia_prefix(text);
      nlohmann::json metrics = essence_metrics_json(samples, texts, *essence);
      metrics["generation_seconds"] = seconds;
      write_result(o, eval::records_file(folder, "essence"), essence_records(rows, texts, *essence));
      write_result(o, eval::metrics_file(folder, "essence"), metrics);
      summary[std::to_string(layer)]["essence"] = metrics;
      if (!o.quiet) {
        std::cerr << o.type << "/" << layer << " essence: " << metrics["essence"]["mean"] << " (" << seconds
                  << " s)\n";
      }
    }
  }
  return summary;
}

}  // namespace

const std::vector<std::string>& fact_gen_benchmarks() {
  static const std::vector<std::string> kBenchmarks{"efficacy", "paraphrase", "neighborhood", "generation",
                                                    "essence"};
  return kBenchmarks;
}

nlohmann::json fact_gen_options_json(const FactGenOptions& options) {
  nlohmann::json args = eval_options_json(options);
  args["benchmarks"] = options.benchmarks;
  args["baseline"] = options.baseline;
  args["max_length"] = options.max_length;
  return args;
}

void check_fact_gen_options(const FactGenOptions& o) {
  for (const std::string& b : o.benchmarks) {
    if (!contains(fact_gen_benchmarks(), b)) {
      throw Error(
          "<argument>", "--benchmarks",
          "'" + b +
              "' is not implemented (available: efficacy, paraphrase, neighborhood, generation, essence)");
    }
  }
  if (!o.baseline.empty()) {
    if (o.baseline != "prefix" && o.baseline != "replace")
      throw Error("<argument>", "--baseline", "'" + o.baseline + "' is not one of prefix, replace");
    if (!o.layers.empty() || !o.editors.empty())
      throw Error("<argument>", "--baseline",
                  "runs the unedited LM: --layers and --editors-dir must be absent");
  }
  if (o.max_length < 2) throw Error("<argument>", "--max-length", "must be at least 2");
}

nlohmann::json FactGenResults::summary() const {
  if (!baseline.empty()) return {{"experiment", experiment}, {"baseline", baseline}, {"benchmarks", metrics}};
  nlohmann::json out = {{"experiment", experiment}, {"type", type}, {"layers", metrics}};
  if (!layer_selection.is_null()) out["layer_selection"] = layer_selection;
  return out;
}

namespace {

FactGenResults fact_gen_body(const lm::LoadedModel& model, const FactGenOptions& o) {
  check_fact_gen_options(o);
  const std::vector<data::MediationSample> samples = load_eval_samples(o);
  FactGenResults results;
  results.experiment = (std::filesystem::path(results_dir(o.results)) / o.name).string();
  results.type = o.type;
  results.baseline = o.baseline;
  ScoringOptions options;
  options.batch_size = o.batch_size;
  options.progress = !o.quiet;
  // Every CounterFact row: the replace baseline's entities and the consistency references' subjects.
  std::vector<data::MediationSample> pool;
  if (o.baseline == "replace" || contains(o.benchmarks, "generation")) {
    SampleSource everything = o.data;
    everything.split.clear();
    pool = load_samples(everything);
  }
  const SubjectIndex index(pool);
  if (!o.baseline.empty()) {
    if (writes(o.group.get())) write_args_file(results.experiment, fact_gen_options_json(o));
    results.metrics = run_baseline(o, model, samples, index, results.experiment, options);
    return results;
  }
  const LoadedEditors loaded = load_eval_editors(o.editors, o.type, o.layers, model.lm());
  if (writes(o.group.get())) write_args_file(results.experiment, fact_gen_options_json(o));
  results.metrics = run_editors(o, model, samples, index, loaded, results.experiment, options);
  if (contains(o.benchmarks, "generation") && contains(o.benchmarks, "paraphrase")) {
    results.layer_selection = fact_gen_layer_selection(loaded.layers, results.metrics);
    write_result(o, eval::layer_selection_file((std::filesystem::path(results.experiment) / o.type).string()),
                 results.layer_selection);
  }
  return results;
}

}  // namespace

FactGenResults fact_gen(const lm::LoadedModel& model, const FactGenOptions& o) {
  return naming_data_file(sample_source_file(o.data), [&] { return fact_gen_body(model, o); });
}

nlohmann::json fact_gen_layer_selection(const std::vector<std::int64_t>& layers,
                                        const nlohmann::json& metrics) {
  std::vector<eval::LayerCandidate> candidates;
  for (const std::int64_t layer : layers) {
    const nlohmann::json& m = metrics.at(std::to_string(layer));
    candidates.push_back({layer,
                          {m.at("paraphrase").at("score").at("mean").get<double>(),
                           m.at("generation").at("consistency").at("mean").get<double>(),
                           m.at("generation").at("fluency").at("mean").get<double>()}});
  }
  const eval::LayerSelection selection = eval::select_layer(candidates);
  nlohmann::json scores = nlohmann::json::object();
  for (const auto& [layer, score] : selection.scores) scores[std::to_string(layer)] = score;
  return {
      {"rule", "harmonic mean of paraphrase score, generation consistency and fluency (docs/METHOD.md 8.15)"},
      {"scores", scores},
      {"best_layer", selection.best_layer.value_or(-1)}};
}

}  // namespace remedi::evaluate
