// `remedi eval-fact-gen`: the CounterFact editing benchmarks of spec §8.2-8.3 (efficacy and
// paraphrase) for trained editors, with the unedited LM's scores on the same prompts beside them.
// Writes <results>/<name>/<type>/<layer>/<benchmark>.json (per sample) and <benchmark>_metrics.json.
// (The generation and essence benchmarks and the prefix/replace baselines are not implemented yet.)
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "eval/metrics.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/scoring.h"
#include "tok/tokenizer.h"
#include "util/error.h"

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
  bool quiet = false;
};

// {mean, std, ci95: [lower, upper]} (percentile bootstrap of the mean, docs/METRICS.md).
nlohmann::json aggregate_json(const eval::Aggregate& a) {
  const eval::ConfidenceInterval ci = eval::bootstrap_mean_ci(a.values);
  return {{"mean", a.mean}, {"std", a.std}, {"ci95", {ci.lower, ci.upper}}};
}

// One row per distinct paraphrase prompt (first occurrence order, Q11), `prompt` replaced.
std::vector<data::MediationSample> flatten_paraphrases(const std::vector<data::MediationSample>& samples,
                                                       std::vector<std::size_t>& owner) {
  std::vector<data::MediationSample> rows;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const data::Json& source = samples[i].source;
    if (!source.contains("paraphrase_prompts") || !source["paraphrase_prompts"].is_array()) {
      throw Error("<data>", "sample " + samples[i].id + " source.paraphrase_prompts",
                  "missing (not CounterFact?)");
    }
    std::vector<std::string> seen;
    for (const auto& prompt : source["paraphrase_prompts"]) {
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

// Efficacy metrics of per-sample groups of rows.
eval::EfficacyMetrics group_efficacy(const TargetScores& scores, const std::vector<std::size_t>& owner,
                                     std::size_t groups) {
  std::vector<std::vector<double>> targets(groups);
  std::vector<std::vector<double>> comparators(groups);
  for (std::size_t r = 0; r < owner.size(); ++r) {
    targets[owner[r]].push_back(scores.mediated_logp[static_cast<std::int64_t>(r)].item<double>());
    comparators[owner[r]].push_back(scores.unmediated_logp[static_cast<std::int64_t>(r)].item<double>());
  }
  return eval::efficacy(targets, comparators, eval::ProbabilityScale::kLogProbability);
}

void run(const EvalArgs& a) {
  for (const std::string& b : a.benchmarks) {
    if (b != "efficacy" && b != "paraphrase") {
      throw Error("<argument>", "--benchmarks",
                  "'" + b + "' is not implemented (available: efficacy, paraphrase)");
    }
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
  const bool needs_file = a.type != "identity" && a.type != "null";
  std::vector<std::int64_t> layers = a.layers;
  if (layers.empty() && needs_file) layers = saved_layers(a.editors, a.type);
  if (layers.empty()) throw Error("<argument>", "--layers", "no layers given and no saved editors found");
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  ScoringOptions options;
  options.batch_size = a.batch_size;
  options.progress = !a.quiet;
  nlohmann::json summary = nlohmann::json::object();
  for (const std::int64_t layer : layers) {
    std::shared_ptr<Editor> editor;
    if (needs_file) {
      if (a.editors.empty()) throw Error("<argument>", "--editors-dir", "required for editor type " + a.type);
      editor = load_editor(editor_folder(a.editors, a.type, layer), *model);
    } else {
      EditorConfig config;
      config.type = a.type;
      config.layer = layer;
      config.hidden_size = model->config().hidden_size;
      editor = make_editor(config, 0);
    }
    editor->eval();
    const std::string folder = editor_folder(experiment, a.type, layer);
    for (const std::string& benchmark : a.benchmarks) {
      std::vector<std::size_t> owner;
      std::vector<data::MediationSample> rows;
      if (benchmark == "efficacy") {
        rows = samples;
        for (std::size_t i = 0; i < samples.size(); ++i) owner.push_back(i);
      } else {
        rows = flatten_paraphrases(samples, owner);
      }
      const TargetScores before = score_targets(*model, tokenizer, nullptr, rows, options);
      const TargetScores after = score_targets(*model, tokenizer, editor.get(), rows, options);
      const eval::EfficacyMetrics edited = group_efficacy(after, owner, samples.size());
      const eval::EfficacyMetrics unedited = group_efficacy(before, owner, samples.size());
      const nlohmann::json metrics = {
          {"score", aggregate_json(edited.score)},
          {"magnitude", aggregate_json(edited.magnitude)},
          {"unedited",
           {{"score", aggregate_json(unedited.score)}, {"magnitude", aggregate_json(unedited.magnitude)}}},
          {"samples", samples.size()},
          {"prompts", rows.size()}};
      nlohmann::json results = nlohmann::json::array();
      for (std::size_t r = 0; r < rows.size(); ++r) {
        nlohmann::json record = data::sample_to_json(rows[r]);
        record.update(scores_json(tokenizer, before, static_cast<std::int64_t>(r), "before_"));
        record.update(scores_json(tokenizer, after, static_cast<std::int64_t>(r), "after_"));
        results.push_back(record);
      }
      write_json((std::filesystem::path(folder) / (benchmark + ".json")).string(), results);
      write_json((std::filesystem::path(folder) / (benchmark + "_metrics.json")).string(), metrics);
      summary[std::to_string(layer)][benchmark] = metrics;
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " " << benchmark << ": score " << edited.score.mean
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
  auto* cmd = app.add_subcommand("eval-fact-gen", "CounterFact editing benchmarks: efficacy and paraphrase");
  cmd->add_option("-n,--experiment-name", a->name, "Experiment folder under the results dir")->required();
  cmd->add_option("-m,--model", a->model, "smollm2, gpt2, gpt2-xl, gptj, neox, or a path")
      ->capture_default_str();
  cmd->add_option("-e,--editors-dir", a->editors, "Training experiment folder (results/<name>)");
  cmd->add_option("-t,--editor-type", a->type, "Editor type (identity and null need no files)")
      ->capture_default_str();
  cmd->add_option("-l,--layers", a->layers, "Layers (default: every saved one)");
  cmd->add_option("-b,--benchmarks", a->benchmarks, "efficacy, paraphrase")->capture_default_str();
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
