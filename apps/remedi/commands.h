// Each subcommand lives in its own file and registers itself on the CLI11 app. A subcommand's
// callback throws remedi::Error for bad input; main() turns that into one line and exit code 2.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace remedi::cli {

// Parses argv (argv[0] is the program's name) and runs the subcommand; returns the exit code (0, or 2
// for bad input after a one-line error on stderr). `self` is how a child process of this command line
// starts (e.g. {python, "-m", "remedi"}); empty: this program, /proc/self/exe.
int run(int argc, char** argv, std::vector<std::string> self);
// What `run` was given as `self` (for `remedi x run`, whose steps are child processes).
const std::vector<std::string>& self_command();

void register_version_info(CLI::App& app);
void register_generate(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_dataset(CLI::App& app);
void register_train(CLI::App& app);
void register_edit(CLI::App& app);
// The evaluations register under a given name: `remedi eval <name>` (the canonical two-word form)
// and `remedi eval-<name>` (the one-word form of earlier releases and scripts).
void register_eval_fact_gen(CLI::App& app, const std::string& name);
void register_eval_fact_cls(CLI::App& app, const std::string& name);
void register_eval_fact_mediation(CLI::App& app, const std::string& name);
void register_eval_entailment(CLI::App& app, const std::string& name);
void register_eval_bias_gen(CLI::App& app, const std::string& name);
void register_eval_bias_cls(CLI::App& app, const std::string& name);
void register_import_editors(CLI::App& app);
void register_random_init_model(CLI::App& app);
void register_generate_directions(CLI::App& app);
void register_report(CLI::App& app);
void register_x(CLI::App& app);
void register_serve(CLI::App& app);

}  // namespace remedi::cli
