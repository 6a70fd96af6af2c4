#include "lm/generate.h"

#include <torch/torch.h>

#include "util/error.h"

namespace remedi::lm {

GenerateResult generate(const CausalLM& model, const Batch& batch, const GenerateOptions& options) {
  const std::int64_t batch_size = batch.input_ids.size(0);
  const std::int64_t width = batch.input_ids.size(1);
  const std::int64_t budget = options.max_length > 0 ? options.max_length - width : options.max_new_tokens;
  if (budget < 0) throw Error("<argument>", "max_length", "shorter than the prompt");
  if (batch.attention_mask.defined() &&
      batch.attention_mask.select(1, width - 1).to(torch::kInt64).min().item<std::int64_t>() == 0) {
    throw Error("<generate>", "attention_mask", "the batch must be left padded (a row ends with a pad)");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const torch::Device device = model.device();
  KVCache cache;
  ForwardOptions prompt_pass;
  prompt_pass.logits = LogitsAt::Last;
  prompt_pass.interventions = options.interventions;
  prompt_pass.cache = &cache;
  torch::Tensor logits = model.forward(batch, prompt_pass).logits;  // (B, V)

  std::vector<torch::Tensor> tokens;
  std::vector<torch::Tensor> chosen;
  std::vector<torch::Tensor> top_ids;
  std::vector<torch::Tensor> top_logprobs;
  torch::Tensor finished =
      torch::zeros({batch_size}, torch::TensorOptions().dtype(torch::kBool).device(device));
  ForwardOptions step_pass;
  step_pass.logits = LogitsAt::Last;
  step_pass.cache = &cache;
  for (std::int64_t step = 0; step < budget; ++step) {
    const torch::Tensor logp = torch::log_softmax(logits, -1);  // (B, V) float32
    torch::Tensor next;
    if (options.top_k > 0) {
      const auto [values, indices] =
          torch::topk(logits / options.temperature, std::min(options.top_k, logits.size(-1)));
      // Sample on the CPU with the seeded generator: the same seed gives the same tokens on any device.
      const torch::Tensor probs = torch::softmax(values, -1).cpu();
      const torch::Tensor pick = torch::multinomial(probs, 1, /*replacement=*/false, generator).to(device);
      next = indices.gather(1, pick).squeeze(1);
    } else {
      next = logits.argmax(-1);
    }
    next = torch::where(finished, torch::full_like(next, options.pad_id), next);
    tokens.push_back(next);
    chosen.push_back(logp.gather(1, next.unsqueeze(1)).squeeze(1));
    if (options.logprobs > 0) {
      const auto [values, indices] = torch::topk(logp, std::min(options.logprobs, logp.size(-1)));
      top_ids.push_back(indices);
      top_logprobs.push_back(values);
    }
    if (options.eos_id >= 0) finished = finished | (next == options.eos_id);
    if (step + 1 == budget || finished.all().item<bool>()) break;
    const ModelConfig& c = model.config();
    if (c.rope_scaling == RopeScaling::LongRope && cache.length() + 1 > c.rope_original_max_positions &&
        cache.length() <= c.rope_original_max_positions) {
      // The step that first passes longrope's original context: transformers' Phi-3 drops the
      // cache (keys rotated with the short factors) and runs the whole sequence again, so that
      // every key is rotated with the long factors from then on. Do the same.
      cache = KVCache{};
      const torch::Tensor prompt_mask = batch.attention_mask.defined()
                                            ? batch.attention_mask.to(device, torch::kInt64)
                                            : torch::ones({batch_size, width}, torch::kInt64).to(device);
      const torch::Tensor generated = torch::stack(tokens, 1);
      logits = model
                   .forward({torch::cat({batch.input_ids.to(device), generated}, 1),
                             torch::cat({prompt_mask, torch::ones_like(generated)}, 1)},
                            prompt_pass)
                   .logits;
      continue;
    }
    logits = model.forward({next.unsqueeze(1), torch::Tensor()}, step_pass).logits;
  }

  GenerateResult result;
  const auto long_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  result.tokens = tokens.empty() ? torch::empty({batch_size, 0}, long_options) : torch::stack(tokens, 1);
  result.chosen_logprobs = chosen.empty() ? torch::empty({batch_size, 0}) : torch::stack(chosen, 1);
  if (options.logprobs > 0 && !top_ids.empty()) {
    result.top_ids = torch::stack(top_ids, 1);
    result.top_logprobs = torch::stack(top_logprobs, 1);
  }
  result.finished = finished;
  return result;
}

}  // namespace remedi::lm
