// The whole command line as one function: the `remedi` program's main() and the Python package's
// `python -m remedi` (remedi._core.cli) both call it.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "lm/threads.h"
#include "remedi/distributed.h"
#include "util/error.h"

namespace remedi::cli {

namespace {
std::vector<std::string>& self_command_storage() {
  static std::vector<std::string> command{"/proc/self/exe"};
  return command;
}
}  // namespace

const std::vector<std::string>& self_command() { return self_command_storage(); }

int run(int argc, char** argv, std::vector<std::string> self) {
  if (!self.empty()) self_command_storage() = std::move(self);
  CLI::App app{"remedi: inspect and edit what a language model believes (REMEDI)", "remedi"};
  app.set_version_flag("--version", std::string("remedi ") + REMEDI_VERSION);
  app.require_subcommand(1);
  lm::configure_threads();
  register_version_info(app);
  register_generate(app);
  register_inspect(app);
  register_tokenize(app);
  register_dataset(app);
  register_train(app);
  register_edit(app);
  CLI::App* eval = app.add_subcommand("eval",
                                      "Evaluation benchmarks: eval fact-gen, eval fact-cls, eval "
                                      "fact-mediation, eval bias-gen, eval bias-cls, eval entailment");
  eval->require_subcommand(1);
  register_eval_fact_gen(*eval, "fact-gen");
  register_eval_fact_cls(*eval, "fact-cls");
  register_eval_fact_mediation(*eval, "fact-mediation");
  register_eval_bias_gen(*eval, "bias-gen");
  register_eval_bias_cls(*eval, "bias-cls");
  register_eval_entailment(*eval, "entailment");
  register_eval_fact_gen(app, "eval-fact-gen");
  register_eval_fact_cls(app, "eval-fact-cls");
  register_eval_fact_mediation(app, "eval-fact-mediation");
  register_eval_bias_gen(app, "eval-bias-gen");
  register_eval_bias_cls(app, "eval-bias-cls");
  register_eval_entailment(app, "eval-entailment");
  register_import_editors(app);
  register_random_init_model(app);
  register_generate_directions(app);
  register_report(app);
  register_x(app);
  register_serve(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kBadInputExitCode;
  } catch (const Error& e) {
    std::cerr << "remedi: error: " << e.what() << "\n";
    return kBadInputExitCode;
  } catch (const dist::Failure& e) {
    std::cerr << "remedi: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "remedi: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace remedi::cli
