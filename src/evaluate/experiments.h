// The paper's experiments (METHOD §9.1) as sequences of remedi command lines with the paper's
// settings, so that each runs with one command (`remedi x run NAME`). The layers per model and data
// set are data (experiments/layers.json, with what chose them), not code. Running the steps (each a
// child process of the remedi binary) is the command line's; this module plans and checks them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace remedi::evaluate {

struct Experiment {
  std::string name;  // e.g. "eval.cls.counterfact"
  std::string what;  // one line saying what it runs
};
// Every experiment of METHOD §9.1, in its order.
const std::vector<Experiment>& experiments();

// The flags of `remedi x run`.
struct ExperimentOptions {
  std::string name;               // an experiments() name
  std::string model = "smollm2";  // a short name or a path
  std::string device = "cpu";
  std::string results;                       // results root (evaluate::results_dir)
  std::optional<std::int64_t> layer;         // overrides the table's edit layer
  std::optional<std::int64_t> entity_layer;  // overrides the table's entity layer
  std::string train_rows;                    // overrides the table's training rows
  std::string eval_rows;                     // overrides the table's (and small's) evaluation rows
  std::string dataset_file;                  // -f for every step
  bool random = false;                       // train.*: the control model (a randomly initialised copy)
  bool small = false;                        // evaluations on [5000, 6000); training on 400 rows, 4 epochs
};

// experiments/layers.json: $REMEDI_EXPERIMENTS/layers.json, else the checkout's experiments folder
// (fixed at build time).
std::string layer_table_file();

// What the table (or the options) say for one (model, data set).
struct ExperimentSettings {
  std::optional<std::int64_t> edit;
  std::optional<std::int64_t> entity;
  std::string train_rows;  // empty: the training command's default ([0, 5000))
  std::string eval_rows;   // empty: the evaluation's default ([5000, 10000), or [5000, 6000) with small)
};
// The settings of (options.model, dataset): the options', else the table's. Throws remedi::Error
// naming the table file and field when it cannot be read, or, with `need_layer`, when neither gives
// an edit layer.
ExperimentSettings experiment_settings(const ExperimentOptions& options, const std::string& dataset,
                                       bool need_layer);

// One remedi command line (without the program name), and what it needs before it can run.
struct ExperimentStep {
  std::vector<std::string> args;
  std::string model;    // must resolve (weights present); empty: none
  std::string editors;  // a training experiment folder that must exist; empty: none
};

// The steps of experiment options.name, in order. Throws remedi::Error naming NAME for an unknown
// experiment, and experiment_settings' errors.
std::vector<ExperimentStep> plan_experiment(const ExperimentOptions& options);

// Checks, before the first step runs, that every input exists: the data sets' files, the models
// (except the control model, which a step writes), the editors the steps evaluate. Throws remedi::Error
// naming the missing file and saying what to put there or what to run first.
void check_experiment_inputs(const ExperimentOptions& options, const std::vector<ExperimentStep>& steps);

// "remedi <args>" with the arguments a shell would split or expand single-quoted.
std::string command_line(const std::vector<std::string>& args);

// <remedi home>/models/<model key>_random, where the control model of `model` is written.
std::string random_model_dir(const std::string& model);

}  // namespace remedi::evaluate
