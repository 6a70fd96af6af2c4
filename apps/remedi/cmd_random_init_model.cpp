// `remedi random-init-model -m MODEL --out-dir DIR`: the control model of the factual-error
// classification benchmark (METHOD §8.8, §8.13), a copy of MODEL in the same format whose weights are
// drawn afresh by an explicit seeded rule (lm/random_init.h). Prints what DIR/random_init.json records
// plus the folder.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "lm/random_init.h"

namespace remedi::cli {

namespace {

struct RandomInitArgs {
  std::string model = "smollm2";
  std::string out_dir;
  std::uint64_t seed = 123456;
};

}  // namespace

void register_random_init_model(CLI::App& app) {
  auto args = std::make_shared<RandomInitArgs>();
  auto* cmd = app.add_subcommand(
      "random-init-model",
      "Write a randomly initialised copy of a model (the control model), in the same format");
  cmd->add_option("-m,--model", args->model,
                  "smollm2, gpt2, gpt2-xl, gptj, neox, or a path (.gguf or HF folder)")
      ->capture_default_str();
  cmd->add_option("--out-dir", args->out_dir, "Folder to create (must be new or empty)")->required();
  cmd->add_option("--seed", args->seed, "Seed of the generator that draws every weight")
      ->capture_default_str();
  cmd->callback([args] {
    std::cout << lm::write_random_init_model(args->model, args->out_dir, args->seed).dump(2) << "\n";
  });
}

}  // namespace remedi::cli
