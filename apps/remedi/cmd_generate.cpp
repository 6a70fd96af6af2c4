// `remedi generate`: continue prompts with the LM (greedy or seeded top-k; lm/completion.h),
// optionally as JSON with per-step log-probabilities as completion APIs report them.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "lm/completion.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct GenerateArgs {
  std::string model = "smollm2";
  std::vector<std::string> prompts;
  lm::GenerateOptions options;
  std::string device = "cpu";
  std::string dtype = "fp32";
  bool json = false;
  std::int64_t logprobs = 10;
};

void run(GenerateArgs args) {
  if (args.options.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must be >= 0");
  if (args.options.top_k < 0) throw Error("<argument>", "--top-k", "must be >= 0");
  if (args.logprobs < 0) throw Error("<argument>", "--logprobs", "must be >= 0");
  if (args.options.temperature <= 0) throw Error("<argument>", "--temperature", "must be > 0");
  const lm::LoadedModel model = lm::load_model(args.model, lm::load_options(args.device, args.dtype));
  args.options.logprobs = args.json ? args.logprobs : 0;
  const std::vector<lm::Completion> completions = lm::complete_prompts(model, args.prompts, args.options);
  if (!args.json) {
    for (const lm::Completion& c : completions) std::cout << c.prompt << c.text << "\n";
    return;
  }
  nlohmann::json out = {{"model", model.path},       {"device", args.device},
                        {"dtype", args.dtype},       {"top_k", args.options.top_k},
                        {"seed", args.options.seed}, {"results", nlohmann::json::array()}};
  for (const lm::Completion& c : completions) out["results"].push_back(lm::completion_json(c));
  std::cout << out.dump(2) << "\n";
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  lm::GenerateOptions& o = args->options;
  auto* cmd = app.add_subcommand("generate", "Continue prompts with the language model (KV-cached)");
  cmd->add_option("-m,--model", args->model, "Model: a .gguf file, an HF folder, or smollm2")
      ->capture_default_str();
  cmd->add_option("-p,--prompt", args->prompts, "Prompt (repeat for a batch)")->required();
  cmd->add_option("--max-new-tokens", o.max_new_tokens, "Tokens to generate per prompt")
      ->capture_default_str();
  cmd->add_option("--max-length", o.max_length, "Total length budget incl. prompt and padding (overrides)");
  cmd->add_option("--top-k", o.top_k, "Sample among the k most likely tokens (0: greedy)")
      ->capture_default_str();
  require_finite(
      cmd->add_option("--temperature", o.temperature, "Sampling temperature")->capture_default_str());
  cmd->add_option("--seed", o.seed, "Seed for sampling")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, kInferenceDtypes)->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object with ids and per-step log-probabilities");
  cmd->add_option("--logprobs", args->logprobs, "Top-N log-probabilities per step in --json output")
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
