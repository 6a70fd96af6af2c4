// `remedi eval-fact-gen`: the CounterFact editing benchmarks of spec §8.2-8.3 (efficacy and
// paraphrase) and a real neighbourhood benchmark (§8.6, docs/DEVIATIONS.md) for trained editors, with
// the unedited LM's scores on the same prompts beside them, or for the prefix and replace baselines
// (§8.7: the unedited LM on modified prompts). Writes <results>/<name>/<type>/<layer>/<benchmark>.json
// (per prompt) and <benchmark>_metrics.json, or <results>/<name>/<baseline>/... for a baseline.
// (The generation and essence benchmarks are not implemented yet.)
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "data/text.h"
#include "eval/metrics.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/scoring.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/hash.h"

namespace remedi::cli {

namespace {

struct EvalArgs {
  std::string name;
  std::string model = "smollm2";
  std::string editors;
  std::string type = "linear";
  std::vector<std::int64_t> layers;
  std::vector<std::string> benchmarks{"efficacy", "paraphrase"};
  SampleSource data{"counterfact", "", "train[5000:10000]", "", 123456};
  bool small = false;
  bool attribute_no_entity = false;
  std::int64_t batch_size = 16;
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::string results;
  std::string baseline;  // "", "prefix" or "replace"
  bool quiet = false;
};

const std::vector<std::string> kBenchmarks{"efficacy", "paraphrase", "neighborhood"};

// {mean, std, ci95: [lower, upper]} (percentile bootstrap of the mean, docs/METRICS.md).
nlohmann::json aggregate_json(const eval::Aggregate& a) {
  const eval::ConfidenceInterval ci = eval::bootstrap_mean_ci(a.values);
  return {{"mean", a.mean}, {"std", a.std}, {"ci95", {ci.lower, ci.upper}}};
}

// One row per distinct prompt of source[field] (first occurrence order, Q11), `prompt` replaced;
// owner[row] is the row's sample.
std::vector<data::MediationSample> flatten_prompts(const std::vector<data::MediationSample>& samples,
                                                   const std::string& field,
                                                   std::vector<std::size_t>& owner) {
  std::vector<data::MediationSample> rows;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const data::Json& source = samples[i].source;
    if (!source.contains(field) || !source[field].is_array()) {
      throw Error("<data>", "sample " + samples[i].id + " source." + field, "missing (not CounterFact?)");
    }
    std::vector<std::string> seen;
    for (const auto& prompt : source[field]) {
      const std::string text = prompt.get<std::string>();
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
      seen.push_back(text);
      data::MediationSample row = samples[i];
      row.prompt = text;
      rows.push_back(row);
      owner.push_back(i);
    }
  }
  return rows;
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

// One benchmark's prompts ready to score: the rows, the sample each row belongs to, and how to score.
struct PreparedBenchmark {
  std::string name;
  std::vector<data::MediationSample> rows;
  std::vector<std::size_t> owner;
  ScoringOptions scoring;
  bool keeps_true = false;  // neighbourhood: success is p(target_true) > p(target_new)
};

PreparedBenchmark prepare_benchmark(const std::string& benchmark,
                                    const std::vector<data::MediationSample>& samples,
                                    const ScoringOptions& options) {
  PreparedBenchmark b;
  b.name = benchmark;
  if (benchmark == "paraphrase") {
    b.rows = flatten_prompts(samples, "paraphrase_prompts", b.owner);
  } else if (benchmark == "neighborhood") {
    b.rows = flatten_prompts(samples, "neighborhood_prompts", b.owner);
  } else {
    b.rows = samples;
    for (std::size_t i = 0; i < samples.size(); ++i) b.owner.push_back(i);
  }
  b.scoring = options;
  // Neighbourhood prompts are about other subjects: the edit goes where the method puts it, the
  // entity's mention in the prompt, and a prompt that does not mention it is not edited.
  b.keeps_true = benchmark == "neighborhood";
  b.scoring.allow_missing_entity = b.keeps_true;
  return b;
}

// The relation of a CounterFact sample: ROME's relation_id when the record has it, else its rewrite
// template (the EasyEdit layout has no relation ids; one relation has a few templates, so this is
// stricter than the original's relation match).
std::string relation_key(const data::MediationSample& sample) {
  const data::Json& rewrite = sample.source.value("requested_rewrite", data::Json::object());
  if (rewrite.contains("relation_id") && rewrite["relation_id"].is_string())
    return rewrite["relation_id"].get<std::string>();
  return rewrite.value("prompt", std::string());
}

// The replace baseline (spec §8.7): each sample's entity becomes another CounterFact subject of the
// same relation whose true object is the sample's new target, chosen by a generator seeded with
// `seed` and the sample id; the entity is replaced everywhere in the sample, its prompts included.
// Samples with no such subject are dropped and counted in `dropped`.
std::vector<data::MediationSample> replace_entities(const std::vector<data::MediationSample>& samples,
                                                    const std::vector<data::MediationSample>& pool,
                                                    std::uint64_t seed, std::size_t& dropped) {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> holders;  // sorted: order-free
  for (const data::MediationSample& s : pool) {
    if (s.target_unmediated) holders[{relation_key(s), *s.target_unmediated}].insert(s.entity);
  }
  std::vector<data::MediationSample> replaced;
  dropped = 0;
  for (const data::MediationSample& sample : samples) {
    std::vector<std::string> names;
    const auto found = holders.find({relation_key(sample), sample.target_mediated});
    if (found != holders.end()) {
      for (const std::string& name : found->second)
        if (name != sample.entity) names.push_back(name);
    }
    if (names.empty()) {
      ++dropped;
      continue;
    }
    std::mt19937_64 generator(fnv1a_field(fnv1a(kFnvOffset, &seed, sizeof seed), sample.id));
    const std::string& name =
        names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(generator)];
    const auto swap = [&](const std::string& text) { return data::replace_all(text, sample.entity, name); };
    data::MediationSample r = sample;
    r.entity = name;
    r.context = swap(sample.context);
    r.attribute = swap(sample.attribute);
    r.prompt = swap(sample.prompt);
    for (const char* field : {"paraphrase_prompts", "generation_prompts"}) {
      if (!r.source.contains(field) || !r.source[field].is_array()) continue;
      for (auto& prompt : r.source[field])
        if (prompt.is_string()) prompt = swap(prompt.get<std::string>());
    }
    r.source["replacement_entity"] = name;
    replaced.push_back(std::move(r));
  }
  return replaced;
}

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

// A baseline (spec §8.7): the unedited LM on prompts with the context prepended (prefix) or with the
// entity replaced (replace). Neighbourhood prompts get the context prepended too (prefix).
void run_baseline(const EvalArgs& a, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                  std::vector<data::MediationSample> samples, const std::string& experiment,
                  const ScoringOptions& options) {
  std::size_t dropped = 0;
  if (a.baseline == "replace") {
    SampleSource everything = a.data;
    everything.split.clear();
    samples = replace_entities(samples, load_samples(everything), a.data.seed, dropped);
    if (samples.empty())
      throw Error("<argument>", "--baseline replace", "no sample has a replacement entity");
  }
  const std::string folder = (std::filesystem::path(experiment) / a.baseline).string();
  nlohmann::json summary = nlohmann::json::object();
  for (const std::string& benchmark : a.benchmarks) {
    PreparedBenchmark b = prepare_benchmark(benchmark, samples, options);
    b.scoring.allow_missing_entity = true;  // the unedited LM edits nothing
    if (a.baseline == "prefix") {
      for (data::MediationSample& row : b.rows) row.prompt = data::prompt_in_context(row);
    }
    const TargetScores scores = score_targets(model, tokenizer, nullptr, b.rows, b.scoring);
    const eval::EfficacyMetrics m = group_efficacy(scores, b.owner, samples.size(), b.keeps_true);
    nlohmann::json metrics = {{"score", aggregate_json(m.score)},
                              {"magnitude", aggregate_json(m.magnitude)},
                              {"samples", samples.size()},
                              {"prompts", b.rows.size()}};
    if (a.baseline == "replace") metrics["samples_without_replacement"] = dropped;
    write_json((std::filesystem::path(folder) / (benchmark + ".json")).string(),
               records_json(tokenizer, b.rows, scores, nullptr));
    write_json((std::filesystem::path(folder) / (benchmark + "_metrics.json")).string(), metrics);
    summary[benchmark] = metrics;
    if (!a.quiet) std::cerr << a.baseline << " " << benchmark << ": score " << m.score.mean << "\n";
  }
  std::cout << nlohmann::json({{"experiment", experiment}, {"baseline", a.baseline}, {"benchmarks", summary}})
                   .dump(2)
            << "\n";
}

void run(const EvalArgs& a) {
  for (const std::string& b : a.benchmarks) {
    if (std::find(kBenchmarks.begin(), kBenchmarks.end(), b) == kBenchmarks.end()) {
      throw Error("<argument>", "--benchmarks",
                  "'" + b + "' is not implemented (available: efficacy, paraphrase, neighborhood)");
    }
  }
  if (!a.baseline.empty()) {
    if (a.baseline != "prefix" && a.baseline != "replace")
      throw Error("<argument>", "--baseline", "'" + a.baseline + "' is not one of prefix, replace");
    if (!a.layers.empty() || !a.editors.empty())
      throw Error("<argument>", "--baseline",
                  "runs the unedited LM: --layers and --editors-dir must be absent");
  }
  SampleSource source = a.data;
  if (a.small) source.split = "train[5000:6000]";
  std::vector<data::MediationSample> samples = load_samples(source);
  if (a.attribute_no_entity) data::use_attribute_as_context(samples);
  if (samples.empty()) throw Error("<argument>", "--rows", "selects no samples");
  for (const data::MediationSample& s : samples) {
    if (!s.target_unmediated)
      throw Error("<data>", "sample " + s.id + " target_unmediated", "missing (CounterFact needed)");
  }
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  ScoringOptions options;
  options.batch_size = a.batch_size;
  options.progress = !a.quiet;
  if (!a.baseline.empty()) {
    run_baseline(a, *model, tokenizer, samples, experiment, options);
    return;
  }
  const bool needs_file = a.type != "identity" && a.type != "null";
  std::vector<std::int64_t> layers = a.layers;
  if (layers.empty() && needs_file) layers = saved_layers(a.editors, a.type);
  if (layers.empty()) throw Error("<argument>", "--layers", "no layers given and no saved editors found");
  // Every editor is loaded (and checked against the model) before any scoring starts.
  std::vector<std::shared_ptr<Editor>> editors;
  for (const std::int64_t layer : layers) {
    if (needs_file) {
      if (a.editors.empty()) throw Error("<argument>", "--editors-dir", "required for editor type " + a.type);
      editors.push_back(load_editor(editor_folder(a.editors, a.type, layer), *model));
    } else {
      EditorConfig config;
      config.type = a.type;
      config.layer = layer;
      config.hidden_size = model->config().hidden_size;
      editors.push_back(make_editor(config, 0));
    }
    editors.back()->eval();
  }
  // The unedited scores do not depend on the layer: computed once per benchmark.
  std::vector<PreparedBenchmark> benchmarks;
  std::vector<TargetScores> unedited_scores;
  for (const std::string& benchmark : a.benchmarks) {
    benchmarks.push_back(prepare_benchmark(benchmark, samples, options));
    unedited_scores.push_back(
        score_targets(*model, tokenizer, nullptr, benchmarks.back().rows, benchmarks.back().scoring));
  }
  nlohmann::json summary = nlohmann::json::object();
  for (std::size_t e = 0; e < editors.size(); ++e) {
    const std::int64_t layer = layers[e];
    const std::string folder = editor_folder(experiment, a.type, layer);
    for (std::size_t i = 0; i < benchmarks.size(); ++i) {
      const PreparedBenchmark& b = benchmarks[i];
      const TargetScores& before = unedited_scores[i];
      const TargetScores after = score_targets(*model, tokenizer, editors[e].get(), b.rows, b.scoring);
      const eval::EfficacyMetrics edited = group_efficacy(after, b.owner, samples.size(), b.keeps_true);
      const eval::EfficacyMetrics unedited = group_efficacy(before, b.owner, samples.size(), b.keeps_true);
      const nlohmann::json metrics = {
          {"score", aggregate_json(edited.score)},
          {"magnitude", aggregate_json(edited.magnitude)},
          {"unedited",
           {{"score", aggregate_json(unedited.score)}, {"magnitude", aggregate_json(unedited.magnitude)}}},
          {"samples", samples.size()},
          {"prompts", b.rows.size()}};
      write_json((std::filesystem::path(folder) / (b.name + ".json")).string(),
                 records_json(tokenizer, b.rows, before, &after));
      write_json((std::filesystem::path(folder) / (b.name + "_metrics.json")).string(), metrics);
      summary[std::to_string(layer)][b.name] = metrics;
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " " << b.name << ": score " << edited.score.mean
                  << " (unedited " << unedited.score.mean << "), magnitude " << edited.magnitude.mean << "\n";
      }
    }
  }
  std::cout << nlohmann::json({{"experiment", experiment}, {"type", a.type}, {"layers", summary}}).dump(2)
            << "\n";
}

}  // namespace

void register_eval_fact_gen(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval-fact-gen",
                                 "CounterFact editing benchmarks: efficacy, paraphrase, neighborhood");
  cmd->add_option("-n,--experiment-name", a->name, "Experiment folder under the results dir")->required();
  cmd->add_option("-m,--model", a->model, "smollm2, gpt2, gpt2-xl, gptj, neox, or a path")
      ->capture_default_str();
  cmd->add_option("-e,--editors-dir", a->editors, "Training experiment folder (results/<name>)");
  cmd->add_option("-t,--editor-type", a->type, "Editor type (identity and null need no files)")
      ->capture_default_str();
  cmd->add_option("-l,--layers", a->layers, "Layers (default: every saved one)");
  cmd->add_option("-b,--benchmarks", a->benchmarks, "efficacy, paraphrase, neighborhood")
      ->capture_default_str();
  cmd->add_option("--baseline", a->baseline,
                  "prefix (context before the prompt) or replace (another subject with the new object), "
                  "with the unedited LM; no --layers or --editors-dir");
  cmd->add_option("-f,--dataset-file", a->data.file, "CounterFact input (default: the shared data)");
  cmd->add_option("--rows", a->data.split, "Evaluation rows")->capture_default_str();
  cmd->add_flag("--small", a->small, "Rows [5000, 6000) (the layer sweeps' subset)");
  cmd->add_flag("--attribute-no-entity", a->attribute_no_entity, "Encode the attribute alone");
  cmd->add_option("--batch-size", a->batch_size, "Prompts per batch")->capture_default_str();
  cmd->add_option("--device", a->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_option("--results-dir", a->results, "Results root (default $REMEDI_RESULTS or ./results)");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress output");
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
