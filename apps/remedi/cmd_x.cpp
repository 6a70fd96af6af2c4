// `remedi x list` and `remedi x run NAME`: the paper's experiments (METHOD §9.1) with its settings,
// planned by evaluate/experiments.h. Each step runs as a child process of this binary, its command
// line printed first, and the run stops at the first failing step. Inputs a step needs (model
// weights, the editors it evaluates) are checked before anything runs.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "evaluate/experiments.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

using evaluate::ExperimentOptions;
using evaluate::ExperimentStep;

// Runs this binary with `args`, output passed through; its exit code.
int run_child(const std::vector<std::string>& args) {
  std::vector<std::string> argv = self_command();
  argv.insert(argv.end(), args.begin(), args.end());
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("<x>", "fork", "cannot start a child process");
  if (pid == 0) {
    std::vector<char*> pointers;
    for (std::string& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run(const ExperimentOptions& a, bool dry_run) {
  const std::vector<ExperimentStep> steps = evaluate::plan_experiment(a);
  if (dry_run) {
    for (const ExperimentStep& step : steps) std::cout << evaluate::command_line(step.args) << "\n";
    return;
  }
  evaluate::check_experiment_inputs(a, steps);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string line = evaluate::command_line(steps[i].args);
    std::cerr << "== x " << a.name << " step " << i + 1 << "/" << steps.size() << ": " << line << "\n";
    const int code = run_child(steps[i].args);
    if (code != 0) {
      throw Error(
          "<x>", a.name,
          "step " + std::to_string(i + 1) + " failed (exit code " + std::to_string(code) + "): " + line);
    }
  }
}

}  // namespace

void register_x(CLI::App& app) {
  auto* x = app.add_subcommand("x", "The paper's experiments with its settings: x list, x run NAME");
  x->require_subcommand(1);
  auto* list = x->add_subcommand("list", "Every experiment (docs/METHOD.md 9.1) and what it runs");
  list->callback([] {
    for (const evaluate::Experiment& e : evaluate::experiments())
      std::cout << e.name << "\t" << e.what << "\n";
  });
  auto a = std::make_shared<ExperimentOptions>();
  auto dry_run = std::make_shared<bool>(false);
  auto* run_cmd = x->add_subcommand("run", "Run one experiment: its remedi commands in order");
  run_cmd->add_option("NAME", a->name, "Experiment (remedi x list)")->required();
  run_cmd->add_option("-m,--model", a->model, "smollm2, gpt2, gpt2-xl, gptj, neox")->capture_default_str();
  run_cmd->add_option("--device", a->device, "cpu | cuda | cuda:N")->capture_default_str();
  run_cmd->add_option("--results-dir", a->results, "Results root (default $REMEDI_RESULTS or ./results)");
  run_cmd->add_option("--layer", a->layer, "Edit layer instead of experiments/layers.json's");
  run_cmd->add_option("--entity-layer", a->entity_layer, "Entity (probe) layer instead of the table's");
  require_row_selector(run_cmd->add_option(
      "--train-rows", a->train_rows, "Training rows (HF split syntax) instead of the table's or [0, 5000)"));
  require_row_selector(
      run_cmd->add_option("--eval-rows", a->eval_rows,
                          "Evaluation rows instead of the table's, --small's [5000, 6000) or [5000, 10000)"));
  run_cmd->add_option("-f,--dataset-file", a->dataset_file,
                      "Input file or folder of the data set, for every step");
  run_cmd->add_flag("--random", a->random,
                    "train.*: a randomly initialised copy of the model (control model)");
  run_cmd->add_flag("--small", a->small,
                    "Evaluations on rows [5000, 6000); training on 400 rows for 4 epochs");
  run_cmd->add_flag("--dry-run", *dry_run, "Print the commands instead of running them");
  run_cmd->callback([a, dry_run] { run(*a, *dry_run); });
}

}  // namespace remedi::cli
