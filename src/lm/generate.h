// Batched, KV-cached generation: greedy or seeded top-k sampling, EOS stop, interventions applied
// on the prompt pass only (METHOD §6.3: incremental steps are not edited but attend to the edited
// prompt's cached keys and values).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "lm/model.h"

namespace remedi::lm {

struct GenerateOptions {
  std::int64_t max_new_tokens = 20;
  // If > 0, the budget is max_length - prompt width (padding included), as HF `max_length` and the
  // original REMEDI code count it (METHOD Q12); it then overrides max_new_tokens.
  std::int64_t max_length = -1;
  std::int64_t top_k = 0;  // 0: greedy; k > 0: sample among the k most likely tokens
  double temperature = 1.0;
  std::uint64_t seed = 123456;
  std::int64_t eos_id = -1;   // < 0: never stop early
  std::int64_t pad_id = 0;    // emitted by rows that have finished
  std::int64_t logprobs = 0;  // record the top-N log-probabilities of every step
  std::vector<Intervention> interventions;
};

struct GenerateResult {
  torch::Tensor tokens;           // (B, N) int64; pad_id after a row's EOS
  torch::Tensor chosen_logprobs;  // (B, N) float32, log-probability of each chosen token
  torch::Tensor top_ids;          // (B, N, logprobs) int64, when logprobs > 0
  torch::Tensor top_logprobs;     // (B, N, logprobs) float32
  torch::Tensor finished;         // (B) bool: the row emitted EOS
};

// `batch` must be left-padded (or unpadded) so that every row's last column is a real token.
GenerateResult generate(const CausalLM& model, const Batch& batch, const GenerateOptions& options);

}  // namespace remedi::lm
