// Continuing text prompts with a loaded model: encode (left-padded into one batch), generate
// (lm/generate.h: greedy or seeded top-k, KV-cached), decode; with the log-probability of every
// chosen token and, when asked for, the most likely alternatives at each step, as completion APIs
// report them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "lm/generate.h"
#include "lm/loaded_model.h"

namespace remedi::lm {

struct TokenLogprob {
  std::int64_t id = 0;
  std::string text;   // the token alone, decoded
  float logprob = 0;  // natural log of its probability at that step
};

struct CompletionStep {
  TokenLogprob token;             // the chosen token
  std::vector<TokenLogprob> top;  // the options.logprobs most likely ones, most likely first
};

struct Completion {
  std::string prompt;
  std::vector<std::int64_t> prompt_ids;
  std::vector<std::int64_t> ids;      // the generated tokens, through the EOS when one was generated
  std::string text;                   // `ids` decoded, special tokens skipped
  std::vector<CompletionStep> steps;  // one per id
};

// Continues every prompt with `options` (its eos_id and pad_id are replaced by the tokenizer's; its
// interventions apply). Throws remedi::Error naming --prompt for a prompt that encodes to no tokens.
std::vector<Completion> complete_prompts(const LoadedModel& model, const std::vector<std::string>& prompts,
                                         GenerateOptions options);

// {prompt, prompt_ids, completion, steps: [{id, text, logprob, top_logprobs: [{id, text, logprob}]}]}.
nlohmann::json completion_json(const Completion& completion);

}  // namespace remedi::lm
