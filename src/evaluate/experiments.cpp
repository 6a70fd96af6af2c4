#include "evaluate/experiments.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "data/datasets.h"
#include "evaluate/setup.h"
#include "lm/model_path.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::evaluate {

namespace {

namespace fs = std::filesystem;

// METHOD §9.1, in its order.
const std::vector<Experiment> kExperiments = {
    {"train.counterfact", "train editors on CounterFact at every layer"},
    {"train.biosbias", "train editors on Bias in Bios at every layer"},
    {"train.mcrae", "train editors on McRae at every layer"},
    {"eval.gen.counterfact",
     "CounterFact editing benchmarks at the edit layer, then the prefix and replace baselines"},
    {"eval.gen.biosbias", "Bias in Bios error correction, contextual then decontextual"},
    {"eval.cls.counterfact",
     "factual-error classification: trained editor, identity editor, control task, control model"},
    {"eval.cls.biosbias",
     "Bias in Bios error classification: trained, identity, control task, control model"},
    {"eval.ent.mcrae", "McRae entailment at the edit layer, then the prefix baseline"},
    {"sweep.gen.counterfact",
     "CounterFact benchmarks of every saved layer on rows [5000, 6000), layer selection"},
    {"sweep.gen.biosbias",
     "Bias in Bios error correction of every saved layer (decontextual), rows [5000, 6000)"},
    {"sweep.cls.counterfact", "factual-error classification over entity layers, rows [5000, 6000)"},
    {"sweep.cls.biosbias", "Bias in Bios error classification over entity layers, rows [5000, 6000)"},
    {"sweep.ent.mcrae", "McRae entailment of every saved layer, rows [5000, 6000)"},
    {"dump.counterfact", "directions and entity states before/after the edit, CounterFact"},
    {"dump.biosbias", "directions and entity states before/after the edit, Bias in Bios"},
    {"dump.mcrae", "directions and entity states before/after the edit, McRae"},
    {"dump.all", "dump.counterfact, dump.biosbias and dump.mcrae"},
};

std::string optional_string(const nlohmann::json& entry, const std::string& key) {
  return entry.is_object() && entry.value(key, nlohmann::json()).is_string() ? entry[key].get<std::string>()
                                                                             : std::string();
}

std::string dataset_of(const std::string& experiment) { return experiment.substr(experiment.rfind('.') + 1); }

// The model's name in experiment folder names: a path (an HF folder or a .gguf file) by its last
// component without extension, so that names stay one folder deep.
std::string model_key(const std::string& model) {
  if (model.find('/') == std::string::npos && !model.ends_with(".gguf")) return model;
  fs::path path(model);
  if (!path.has_filename()) path = path.parent_path();
  return path.stem().string();
}

// The data sets an experiment reads.
std::vector<std::string> datasets_of(const std::string& experiment) {
  if (experiment == "dump.all") return {"counterfact", "biosbias", "mcrae"};
  return {dataset_of(experiment)};
}

std::vector<ExperimentStep> plan_steps(const ExperimentOptions& a, const std::string& experiment) {
  const std::string results = results_dir(a.results);
  const std::string dataset = dataset_of(experiment);
  const std::string key = model_key(a.model);
  const std::string editors_name = "emnlp_editors_" + dataset + "_" + key;
  const std::string editors = (fs::path(results) / editors_name).string();
  std::vector<std::string> common = {"-m", a.model, "--device", a.device, "--results-dir", results};
  const auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  if (!a.dataset_file.empty()) common = with(common, {"-f", a.dataset_file});
  std::vector<ExperimentStep> steps;
  const std::string kind = experiment.substr(0, experiment.find('.'));
  if (experiment == "dump.all") {
    for (const char* d : {"counterfact", "biosbias", "mcrae"}) {
      const std::vector<ExperimentStep> more = plan_steps(a, std::string("dump.") + d);
      steps.insert(steps.end(), more.begin(), more.end());
    }
    return steps;
  }
  if (kind == "train") {
    // Every layer (METHOD §9.1), unless --layer names one; the control model only at the edit layer.
    const ExperimentSettings settings = experiment_settings(a, dataset, a.random);
    std::vector<std::string> options;
    if (!settings.train_rows.empty()) options = {"--rows", settings.train_rows};
    if (a.small) options = with(options, {"--train-size", "400", "--max-epochs", "4"});
    if (!a.random) {
      if (a.layer) options = with(options, {"-l", std::to_string(*a.layer)});
      steps.push_back(
          {with(with({"train", "-n", editors_name, "-d", dataset}, common), options), a.model, ""});
      return steps;
    }
    // Control model (METHOD §9.1): a randomly initialised copy, editors at the edit layer only.
    const std::string random_dir = random_model_dir(a.model);
    if (!fs::exists(random_dir)) {
      steps.push_back({{"random-init-model", "-m", a.model, "--out-dir", random_dir}, a.model, ""});
    }
    std::vector<std::string> args = {"train",    "-n", editors_name + "_random",      "-d", dataset, "-m",
                                     random_dir, "-l", std::to_string(*settings.edit)};
    args = with(with(args, {"--device", a.device, "--results-dir", results}), options);
    if (!a.dataset_file.empty()) args = with(args, {"-f", a.dataset_file});
    steps.push_back({args, "", ""});
    return steps;
  }
  // Sweeps evaluate every saved layer and need no edit layer.
  const ExperimentSettings settings =
      experiment_settings(a, dataset, kind != "sweep" || experiment.starts_with("sweep.cls"));
  const std::string layer = std::to_string(settings.edit.value_or(0));
  // The evaluation rows: the flag's or the table's, else [5000, 6000) with --small, else the default.
  std::vector<std::string> small;
  if (!settings.eval_rows.empty()) {
    small = {"--rows", settings.eval_rows};
  } else if (a.small) {
    small = {"--small"};
  }
  // Sweeps always run on the small subset (METHOD §9.1) unless rows are given.
  const std::vector<std::string> sweep_rows =
      settings.eval_rows.empty() ? std::vector<std::string>{"--small"} : small;
  const auto entity_layers = [&]() -> std::vector<std::string> {
    if (!settings.entity) return {};
    return {"--entity-layers", std::to_string(*settings.entity)};
  };
  // METHOD §9.1's four classification runs: the trained editor, the identity editor, the control task,
  // and the control model (editors trained on a randomly initialised copy).
  const auto classification_steps = [&](const std::string& command, const std::string& name) {
    const std::vector<std::string> base = with({"eval", command, "-n", name, "-l", layer}, entity_layers());
    steps.push_back({with(with(with(base, {"-e", editors}), common), small), a.model, editors});
    steps.push_back({with(with(with(base, {"-t", "identity"}), common), small), a.model, ""});
    steps.push_back(
        {with(with(with(base, {"-e", editors, "--control-task"}), common), small), a.model, editors});
    std::vector<std::string> control =
        with(base, {"-m", random_model_dir(a.model), "-e", editors + "_random", "--control-model", "--device",
                    a.device, "--results-dir", results});
    if (!a.dataset_file.empty()) control = with(control, {"-f", a.dataset_file});
    steps.push_back({with(control, small), random_model_dir(a.model), editors + "_random"});
  };
  if (experiment == "eval.gen.counterfact") {
    const std::string name = "emnlp_eval_gen_counterfact_" + key;
    const std::vector<std::string> benchmarks = {"-b",           "efficacy",   "paraphrase",
                                                 "neighborhood", "generation", "essence"};
    steps.push_back(
        {with(with(with({"eval", "fact-gen", "-n", name, "-e", editors, "-l", layer}, common), benchmarks),
              small),
         a.model, editors});
    for (const char* baseline : {"prefix", "replace"}) {
      steps.push_back(
          {with(with(with({"eval", "fact-gen", "-n", name, "--baseline", baseline}, common), benchmarks),
                small),
           a.model, ""});
    }
  } else if (experiment == "eval.cls.counterfact") {
    classification_steps("fact-cls", "emnlp_eval_cls_counterfact_" + key);
  } else if (experiment == "sweep.gen.counterfact") {
    steps.push_back({with({"eval", "fact-gen", "-n", "emnlp_sweep_gen_counterfact_" + key, "-e", editors,
                           "-b", "efficacy", "paraphrase", "generation", "essence"},
                          with(common, sweep_rows)),
                     a.model, editors});
  } else if (experiment == "sweep.cls.counterfact") {
    steps.push_back(
        {with({"eval", "fact-cls", "-n", "emnlp_sweep_cls_counterfact_" + key, "-e", editors, "-l", layer},
              with(common, sweep_rows)),
         a.model, editors});
  } else if (experiment == "eval.gen.biosbias") {
    const std::string name = "emnlp_eval_gen_biosbias_" + key;
    const std::vector<std::string> base =
        with({"eval", "bias-gen", "-n", name, "-e", editors, "-l", layer}, common);
    steps.push_back({with(base, small), a.model, editors});
    steps.push_back({with(with(base, {"--decontextualized"}), small), a.model, editors});
  } else if (experiment == "eval.cls.biosbias") {
    classification_steps("bias-cls", "emnlp_eval_cls_biosbias_" + key);
  } else if (experiment == "eval.ent.mcrae") {
    const std::string name = "emnlp_eval_ent_mcrae_" + key;
    steps.push_back(
        {with(with({"eval", "entailment", "-n", name, "-e", editors, "-l", layer}, common), small), a.model,
         editors});
    steps.push_back(
        {with(with({"eval", "entailment", "-n", name, "--baseline", "prefix"}, common), small), a.model, ""});
  } else if (experiment == "sweep.gen.biosbias") {
    steps.push_back({with({"eval", "bias-gen", "-n", "emnlp_sweep_gen_biosbias_" + key, "-e", editors,
                           "--decontextualized"},
                          with(common, sweep_rows)),
                     a.model, editors});
  } else if (experiment == "sweep.cls.biosbias") {
    steps.push_back(
        {with({"eval", "bias-cls", "-n", "emnlp_sweep_cls_biosbias_" + key, "-e", editors, "-l", layer},
              with(common, sweep_rows)),
         a.model, editors});
  } else if (experiment == "sweep.ent.mcrae") {
    steps.push_back({with({"eval", "entailment", "-n", "emnlp_sweep_ent_mcrae_" + key, "-e", editors},
                          with(common, sweep_rows)),
                     a.model, editors});
  } else if (kind == "dump") {
    steps.push_back({with({"generate-directions", "-n", "emnlp_directions_" + dataset + "_" + key, "-e",
                           editors, "-d", dataset, "-l", layer},
                          with(common, small)),
                     a.model, editors});
  } else {
    throw Error("<argument>", "NAME", "'" + experiment + "' is not an experiment (remedi x list)");
  }
  return steps;
}

}  // namespace

const std::vector<Experiment>& experiments() { return kExperiments; }

std::string layer_table_file() {
  const char* env = std::getenv("REMEDI_EXPERIMENTS");
  return (fs::path(env != nullptr ? env : REMEDI_EXPERIMENTS_DIR) / "layers.json").string();
}

ExperimentSettings experiment_settings(const ExperimentOptions& a, const std::string& dataset,
                                       bool need_layer) {
  const std::string path = layer_table_file();
  if (!fs::exists(path))
    throw Error(path, "", "cannot read the layer table (set $REMEDI_EXPERIMENTS to its folder)");
  const nlohmann::json table = read_json_file(path);
  if (!table.is_object() || !table.contains("models") || !table["models"].is_object())
    throw Error(path, "models", "missing or not an object");
  const std::string field = "models." + a.model + "." + dataset;
  nlohmann::json entry;
  if (table["models"].contains(a.model) && table["models"][a.model].is_object())
    entry = table["models"][a.model].value(dataset, nlohmann::json());
  ExperimentSettings settings;
  settings.train_rows = a.train_rows.empty() ? optional_string(entry, "train_rows") : a.train_rows;
  settings.eval_rows = a.eval_rows.empty() ? optional_string(entry, "eval_rows") : a.eval_rows;
  if (a.layer) {
    settings.edit = *a.layer;
  } else if (entry.is_object() && entry.value("edit_layer", nlohmann::json()).is_number_integer()) {
    settings.edit = entry["edit_layer"].get<std::int64_t>();
  } else if (need_layer) {
    throw Error(path, field + ".edit_layer",
                "no edit layer chosen for this model and data set: pass --layer (and --entity-layer), or run "
                "the sweep and record its choice there");
  }
  if (a.entity_layer) {
    settings.entity = *a.entity_layer;
  } else if (entry.is_object() && entry.value("entity_layer", nlohmann::json()).is_number_integer()) {
    settings.entity = entry["entity_layer"].get<std::int64_t>();
  }
  return settings;
}

std::string random_model_dir(const std::string& model) {
  return (fs::path(lm::remedi_home()) / "models" / (model_key(model) + "_random")).string();
}

std::vector<ExperimentStep> plan_experiment(const ExperimentOptions& options) {
  if (std::none_of(kExperiments.begin(), kExperiments.end(),
                   [&](const Experiment& e) { return e.name == options.name; }))
    throw Error("<argument>", "NAME", "'" + options.name + "' is not an experiment (remedi x list)");
  return plan_steps(options, options.name);
}

void check_experiment_inputs(const ExperimentOptions& a, const std::vector<ExperimentStep>& steps) {
  // Every input is checked before the first step runs: the data first.
  for (const std::string& dataset : datasets_of(a.name)) {
    const std::string input =
        a.dataset_file.empty() ? data::default_dataset_path(dataset, data_dir()) : a.dataset_file;
    if (fs::exists(input)) continue;
    if (dataset == "mcrae" && a.dataset_file.empty()) {
      throw Error(
          input, "",
          "missing: put the McRae norms there (CONCS_FEATS_concstats_brm.txt from McRae et al. 2005's "
          "supplementary material), or pass --dataset-file FILE; tests/fixtures/data/mcrae_synthetic.tsv "
          "is a synthetic stand-in whose numbers are not McRae results");
    }
    throw Error(input, "", "missing: the " + dataset + " data set's input (see docs/DATA.md)");
  }
  for (const ExperimentStep& step : steps) {
    if (!step.model.empty() && step.model != random_model_dir(a.model)) lm::resolve_model_path(step.model);
    if (!step.editors.empty() && !fs::exists(step.editors)) {
      const std::string train = step.editors.ends_with("_random") ? " --random" : "";
      throw Error(step.editors, "",
                  "missing: train the editors first (remedi x run train." + dataset_of(a.name) + " --model " +
                      a.model + train + ")");
    }
  }
}

std::string command_line(const std::vector<std::string>& args) {
  std::string line = "remedi";
  for (const std::string& arg : args) {
    const bool quote = arg.find_first_of(" '\"[]()*?$\\") != std::string::npos || arg.empty();
    line += " " + (quote ? "'" + arg + "'" : arg);
  }
  return line;
}

}  // namespace remedi::evaluate
