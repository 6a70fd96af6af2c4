// The transformer block of every family and its parts: norms, activations, rotary embeddings and
// causal self-attention with an optional KV cache. Internal to src/lm.
#pragma once

#include <torch/types.h>

#include <utility>

#include "lm/config.h"
#include "lm/family.h"
#include "lm/quantized.h"
#include "lm/streamed_linear.h"
#include "lm/weights.h"

namespace remedi::lm {

// Per-forward inputs every block's attention needs, computed once by CausalLM::forward.
struct AttentionInputs {
  torch::Tensor allowed;  // (B, 1, T_new, T_past + T_new) bool: key visible to query
  torch::Tensor cos;      // (B, 1, T_new, rotary_dim) float32, undefined without rotary
  torch::Tensor sin;
  // Sliding layers (ModelConfig::sliding_window): `allowed` within the window, and the unscaled
  // rotary tables of rope_local_theta (undefined when the global tables serve). Undefined without a
  // window.
  torch::Tensor allowed_local;
  torch::Tensor cos_local;
  torch::Tensor sin_local;
  // Unpadded forwards (ForwardOptions::unpadded): the blocks see only the N real tokens, (1, N, ...),
  // and attention scatters them back to (B, T) by these flat indices b * T + t. Undefined otherwise.
  torch::Tensor real_tokens;  // (N) int64
  std::int64_t batch = 0;     // B and T of the padded layout
  std::int64_t length = 0;
  // ForwardOptions::run_tokens: the real tokens whose keys and values are given, not computed,
  // (B, 1, T, 1) bool. Undefined: every real token runs.
  torch::Tensor given;
};

// y = x W^T + b for the LM's projections, x (..., in), W (out, in), b (out) or undefined: the one place
// where a projection's kernel is chosen. Quantized weights (uint8 blocks, lm/quantized.h): remedi's
// kernels. Dense weights: a few rows without gradients (decoding) by remedi's streamed product
// (lm/streamed_linear.h), else libtorch's own (MKL's sgemm on x86-64 wheels), measured faster than
// calling the BLAS directly (docs/PERFORMANCE.md, "One libtorch").
inline torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (weight.scalar_type() == torch::kUInt8) return quantized_linear(x, weight, bias);
  if (streamed_linear_applies(x, weight, bias)) return streamed_linear(x, weight, bias);
  return torch::linear(x, weight, bias);
}

// Padded (B, T, D) <-> unpadded (1, N, D) by AttentionInputs::real_tokens; differentiable. Padding
// positions come back as zeros.
torch::Tensor unpad(const torch::Tensor& x, const AttentionInputs& inputs);
torch::Tensor pad(const torch::Tensor& x, const AttentionInputs& inputs);

// The cache slots of one layer; both undefined before the first call. Each is a buffer
// (B, n_kv_head, capacity, head_dim) whose first `past` positions hold the past tokens: a step
// writes its keys and values in place, and the buffer grows (doubling) only when full.
struct LayerCache {
  torch::Tensor* keys = nullptr;
  torch::Tensor* values = nullptr;
  std::int64_t past = 0;
  // ForwardOptions::given_keys_values / captured_keys_values of this layer (padded layout, no past).
  const torch::Tensor* given_keys = nullptr;
  const torch::Tensor* given_values = nullptr;
  torch::Tensor* captured_keys = nullptr;
  torch::Tensor* captured_values = nullptr;
};

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps);
// RMSNorm computed in float32 and cast back, as HF Llama does; `one_plus`: scaled by (1 + weight)
// in float32 before the cast, as HF Gemma does.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                       bool one_plus = false);
torch::Tensor activation(const torch::Tensor& x, Activation kind);

// cos/sin tables of base `theta` for `positions` (B, T) int64, each (B, 1, T, rotary_dim), float32,
// with the config's rotary scaling (lm/rope_scaling.h) unless `scaled` is false.
std::pair<torch::Tensor, torch::Tensor> rotary_tables(const ModelConfig& config, double theta,
                                                      const torch::Tensor& positions, bool scaled = true);

// What differs between the attention of one layer and another's.
struct AttentionLayer {
  Norm norm = Norm::Rms;         // of the q/k norms
  torch::Tensor q_norm, k_norm;  // undefined: none; [head_dim]: per head; else the whole projection
  bool sliding = false;          // the sliding-window mask and local rotary tables
};

// Causal self-attention from a fused projection `qkv` (B, T, (n_head + 2 n_kv_head) * head_dim):
// q/k norms, rotary (if configured), cache append, grouped-query broadcast, masked softmax
// (float32, soft-capped when configured), and the heads concatenated back to
// (B, T, n_head * head_dim). The output projection is the caller's. In an unpadded forward `qkv`
// is (1, N, ...) and so is the result.
torch::Tensor self_attention(const ModelConfig& config, const torch::Tensor& qkv,
                             const AttentionInputs& inputs, const LayerCache& cache,
                             const AttentionLayer& layer);

// The norm of `kind`; RMSNorm ignores `bias`.
torch::Tensor norm(Norm kind, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                   double eps);

// Block `layer` of any family, x (B, T, H) -> (B, T, H), as `recipe` (lm/family.h) and the config say.
torch::Tensor transformer_block(const BlockRecipe& recipe, const ModelConfig& config, std::int64_t layer,
                                const LayerWeights& w, const torch::Tensor& x, const AttentionInputs& inputs,
                                const LayerCache& cache);

}  // namespace remedi::lm
