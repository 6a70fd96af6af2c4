// `remedi generate`: continue prompts with the LM (greedy or seeded top-k), optionally as JSON with
// per-step log-probabilities as completion APIs report them.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "lm/batching.h"
#include "lm/generate.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct GenerateArgs {
  std::string model = "smollm2";
  std::vector<std::string> prompts;
  std::int64_t max_new_tokens = 20;
  std::int64_t max_length = -1;
  std::int64_t top_k = 0;
  double temperature = 1.0;
  std::uint64_t seed = 123456;
  std::string device = "cpu";
  std::string dtype = "fp32";
  bool json = false;
  std::int64_t logprobs = 10;
};

nlohmann::json token_json(const tok::Tokenizer& tokenizer, std::int64_t id, float logprob) {
  return {{"id", id}, {"text", tokenizer.decode({id})}, {"logprob", logprob}};
}

void run(const GenerateArgs& args) {
  if (args.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must be >= 0");
  if (args.top_k < 0) throw Error("<argument>", "--top-k", "must be >= 0");
  if (args.logprobs < 0) throw Error("<argument>", "--logprobs", "must be >= 0");
  if (args.temperature <= 0) throw Error("<argument>", "--temperature", "must be > 0");
  const std::string path = lm::resolve_model_path(args.model);
  const lm::LoadOptions load_options{lm::parse_device(args.device), lm::parse_dtype(args.dtype)};
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model = lm::CausalLM::load(path, load_options);
  torch::NoGradGuard no_grad;

  const lm::EncodedBatch encoded =
      lm::encode_batch(tokenizer, args.prompts, lm::PaddingSide::Left, model->config().max_positions);
  for (std::size_t i = 0; i < args.prompts.size(); ++i) {
    if (encoded.lengths[i] == 0)
      throw Error("<argument>", "--prompt", "prompt " + std::to_string(i) + " is empty");
  }
  lm::GenerateOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.max_length = args.max_length;
  options.top_k = args.top_k;
  options.temperature = args.temperature;
  options.seed = args.seed;
  options.eos_id = tokenizer.eos_id();
  options.pad_id = tokenizer.pad_id();
  options.logprobs = args.json ? args.logprobs : 0;
  const lm::GenerateResult result = lm::generate(*model, encoded.batch, options);

  const torch::Tensor tokens = result.tokens.cpu();
  const torch::Tensor chosen = result.chosen_logprobs.cpu();
  nlohmann::json out = {{"model", path},       {"device", args.device}, {"dtype", args.dtype},
                        {"top_k", args.top_k}, {"seed", args.seed},     {"results", nlohmann::json::array()}};
  for (std::size_t row = 0; row < args.prompts.size(); ++row) {
    std::vector<std::int64_t> generated;
    nlohmann::json steps = nlohmann::json::array();
    const auto r = static_cast<std::int64_t>(row);
    for (std::int64_t s = 0; s < tokens.size(1); ++s) {
      const std::int64_t id = tokens[r][s].item<std::int64_t>();
      generated.push_back(id);
      if (!args.json) continue;
      nlohmann::json step = token_json(tokenizer, id, chosen[r][s].item<float>());
      nlohmann::json top = nlohmann::json::array();
      for (std::int64_t k = 0; result.top_ids.defined() && k < result.top_ids.size(2); ++k) {
        top.push_back(token_json(tokenizer, result.top_ids[r][s][k].item<std::int64_t>(),
                                 result.top_logprobs[r][s][k].item<float>()));
      }
      step["top_logprobs"] = top;
      steps.push_back(step);
      if (id == options.eos_id) break;
    }
    const std::string completion = tokenizer.decode(generated, /*skip_special_tokens=*/true);
    if (args.json) {
      out["results"].push_back({{"prompt", args.prompts[row]},
                                {"prompt_ids", encoded.encodings[row].ids},
                                {"completion", completion},
                                {"steps", steps}});
    } else {
      std::cout << args.prompts[row] << completion << "\n";
    }
  }
  if (args.json) std::cout << out.dump(2) << "\n";
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Continue prompts with the language model (KV-cached)");
  cmd->add_option("-m,--model", args->model, "Model: a .gguf file, an HF folder, or smollm2")
      ->capture_default_str();
  cmd->add_option("-p,--prompt", args->prompts, "Prompt (repeat for a batch)")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Tokens to generate per prompt")
      ->capture_default_str();
  cmd->add_option("--max-length", args->max_length,
                  "Total length budget incl. prompt and padding (overrides)");
  cmd->add_option("--top-k", args->top_k, "Sample among the k most likely tokens (0: greedy)")
      ->capture_default_str();
  require_finite(
      cmd->add_option("--temperature", args->temperature, "Sampling temperature")->capture_default_str());
  cmd->add_option("--seed", args->seed, "Seed for sampling")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object with ids and per-step log-probabilities");
  cmd->add_option("--logprobs", args->logprobs, "Top-N log-probabilities per step in --json output")
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
