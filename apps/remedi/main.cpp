#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "commands.h"
#include "lm/threads.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"remedi: inspect and edit what a language model believes (REMEDI)", "remedi"};
  app.set_version_flag("--version", std::string("remedi ") + REMEDI_VERSION);
  app.require_subcommand(1);
  remedi::lm::configure_threads();
  remedi::cli::register_version_info(app);
  remedi::cli::register_generate(app);
  remedi::cli::register_inspect(app);
  remedi::cli::register_tokenize(app);
  remedi::cli::register_dataset(app);
  remedi::cli::register_train(app);
  remedi::cli::register_edit(app);
  CLI::App* eval = app.add_subcommand("eval",
                                      "Evaluation benchmarks: eval fact-gen, eval fact-cls, eval "
                                      "fact-mediation, eval bias-gen, eval bias-cls, eval entailment");
  eval->require_subcommand(1);
  remedi::cli::register_eval_fact_gen(*eval, "fact-gen");
  remedi::cli::register_eval_fact_cls(*eval, "fact-cls");
  remedi::cli::register_eval_fact_mediation(*eval, "fact-mediation");
  remedi::cli::register_eval_bias_gen(*eval, "bias-gen");
  remedi::cli::register_eval_bias_cls(*eval, "bias-cls");
  remedi::cli::register_eval_entailment(*eval, "entailment");
  remedi::cli::register_eval_fact_gen(app, "eval-fact-gen");
  remedi::cli::register_eval_fact_cls(app, "eval-fact-cls");
  remedi::cli::register_eval_fact_mediation(app, "eval-fact-mediation");
  remedi::cli::register_eval_bias_gen(app, "eval-bias-gen");
  remedi::cli::register_eval_bias_cls(app, "eval-bias-cls");
  remedi::cli::register_eval_entailment(app, "eval-entailment");
  remedi::cli::register_import_editors(app);
  remedi::cli::register_random_init_model(app);
  remedi::cli::register_generate_directions(app);
  remedi::cli::register_report(app);
  remedi::cli::register_x(app);
  remedi::cli::register_serve(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return remedi::kBadInputExitCode;
  } catch (const remedi::Error& e) {
    std::cerr << "remedi: error: " << e.what() << "\n";
    return remedi::kBadInputExitCode;
  } catch (const std::exception& e) {
    std::cerr << "remedi: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
