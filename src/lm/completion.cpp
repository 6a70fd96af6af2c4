#include "lm/completion.h"

#include <torch/torch.h>

#include "lm/batching.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

nlohmann::json token_json(const TokenLogprob& token) {
  return {{"id", token.id}, {"text", token.text}, {"logprob", token.logprob}};
}

}  // namespace

std::vector<Completion> complete_prompts(const LoadedModel& model, const std::vector<std::string>& prompts,
                                         GenerateOptions options) {
  const tok::Tokenizer& tokenizer = model.tok();
  torch::NoGradGuard no_grad;
  const EncodedBatch encoded =
      encode_batch(tokenizer, prompts, PaddingSide::Left, model.lm().config().max_positions);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (encoded.lengths[i] == 0)
      throw Error("<argument>", "--prompt", "prompt " + std::to_string(i) + " is empty");
    if (encoded.full_lengths[i] > encoded.lengths[i]) {
      throw Error("<argument>", "--prompt",
                  "prompt " + std::to_string(i) + " has " + std::to_string(encoded.full_lengths[i]) +
                      " tokens, more than the model's context of " + std::to_string(encoded.lengths[i]));
    }
  }
  options.eos_id = tokenizer.eos_id();
  options.pad_id = tokenizer.pad_id();
  const GenerateResult result = generate(model.lm(), encoded.batch, options);
  const torch::Tensor tokens = result.tokens.cpu();
  const torch::Tensor chosen = result.chosen_logprobs.cpu();
  const torch::Tensor top_ids = result.top_ids.defined() ? result.top_ids.cpu() : torch::Tensor();
  const torch::Tensor top_logprobs =
      result.top_logprobs.defined() ? result.top_logprobs.cpu() : torch::Tensor();
  const auto token = [&tokenizer](std::int64_t id, float logprob) {
    return TokenLogprob{id, tokenizer.decode({id}), logprob};
  };
  std::vector<Completion> completions;
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    Completion completion;
    completion.prompt = prompts[row];
    completion.prompt_ids = encoded.encodings[row].ids;
    const auto r = static_cast<std::int64_t>(row);
    for (std::int64_t s = 0; s < tokens.size(1); ++s) {
      const std::int64_t id = tokens[r][s].item<std::int64_t>();
      completion.ids.push_back(id);
      CompletionStep step{token(id, chosen[r][s].item<float>()), {}};
      for (std::int64_t k = 0; top_ids.defined() && k < top_ids.size(2); ++k) {
        step.top.push_back(token(top_ids[r][s][k].item<std::int64_t>(), top_logprobs[r][s][k].item<float>()));
      }
      completion.steps.push_back(std::move(step));
      if (id == options.eos_id) break;  // what follows is padding
    }
    completion.text = tokenizer.decode(completion.ids, /*skip_special_tokens=*/true);
    completions.push_back(std::move(completion));
  }
  return completions;
}

nlohmann::json completion_json(const Completion& completion) {
  nlohmann::json steps = nlohmann::json::array();
  for (const CompletionStep& step : completion.steps) {
    nlohmann::json entry = token_json(step.token);
    nlohmann::json top = nlohmann::json::array();
    for (const TokenLogprob& t : step.top) top.push_back(token_json(t));
    entry["top_logprobs"] = top;
    steps.push_back(entry);
  }
  return {{"prompt", completion.prompt},
          {"prompt_ids", completion.prompt_ids},
          {"completion", completion.text},
          {"steps", steps}};
}

}  // namespace remedi::lm
