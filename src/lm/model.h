// The causal LM runtime: one model class for every family (lm/family.h), and one forward
// that serves inference, precompute, training and generation (see DESIGN.md, "Core interfaces").
//
// Conventions
// - "Block output l" is the residual stream after block l (0-based), before any final norm: HF
//   `hidden_states[l + 1]` for l < L - 1 (METHOD §2.1).
// - Position ids are always derived from the attention mask (cumulative count of real tokens
//   minus one; pads get 0), so left- and right-padded batches give the same results for every
//   family. This is the fix for METHOD Q9 (see docs/DEVIATIONS.md).
// - The LM's weights never require gradients; gradients flow only into intervention directions
//   (and whatever produced them).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lm/config.h"
#include "lm/weights.h"

namespace remedi::lm {

struct FamilyDescription;

struct Batch {
  torch::Tensor input_ids;       // (B, T) int64
  torch::Tensor attention_mask;  // (B, T) int64, 1 = real token, 0 = pad; may be undefined (all real)
};

// At block `layer`, for each row b and positions t in [ranges[b,0], ranges[b,1]) of the padded
// tensor: h[b, t] <- beta * h[b, t] + alpha * directions[b] (METHOD §6.3). Ranges are absolute
// positions (0 <= begin <= end <= T); an empty range leaves the row unchanged.
struct Intervention {
  std::int64_t layer = 0;
  torch::Tensor directions;  // (B, H), may require grad
  torch::Tensor ranges;      // (B, 2) int64
  double alpha = 1.0;
  double beta = 1.0;
};

// Keys and values of every layer for the tokens seen so far, plus what the next step needs to
// continue positions and masking. Filled by forward() when passed in ForwardOptions::cache.
struct KVCache {
  std::vector<torch::Tensor> keys;    // per layer (B, n_kv_head, capacity >= T_past, head_dim)
  std::vector<torch::Tensor> values;  // per layer
  torch::Tensor attention_mask;       // (B, T_past) int64
  torch::Tensor next_position;        // (B) int64: position id of the next real token
  std::int64_t length() const { return attention_mask.defined() ? attention_mask.size(1) : 0; }
};

// Keys and values of every layer a forward ran, in the padded layout (B, n_kv_head, T, head_dim) after
// the rotary embedding; undefined for layers it did not run. See ForwardOptions::run_tokens.
struct LayerKeysValues {
  std::vector<torch::Tensor> keys;    // per layer
  std::vector<torch::Tensor> values;  // per layer
};

enum class LogitsAt {
  None,  // no logits (e.g. precompute)
  All,   // (B, T, V)
  Last,  // (B, V) at each row's last real token
};
// Logits at chosen positions: take them from ForwardResult::last_hidden and call CausalLM::logits
// (remedi/loss.cpp does so for the positions its loss reads).

struct ForwardOptions {
  std::vector<std::int64_t> capture_layers;  // block outputs to return (any order, any subset)
  // Run blocks [start_layer, stop_after_layer]. stop_after_layer = -1 means the last block, and
  // then the final norm and head run if `logits` asks for them; a smaller value skips norm/head.
  std::int64_t start_layer = 0;
  std::int64_t stop_after_layer = -1;
  // With start_layer > 0: the output of block start_layer - 1, (B, T, H). start_layer may be
  // n_layer (only the final norm and head run).
  torch::Tensor start_hidden;
  LogitsAt logits = LogitsAt::All;
  std::vector<Intervention> interventions;
  KVCache* cache = nullptr;  // read (past tokens) and extended (these tokens)
  // Run the blocks on the real tokens only (padding removed; attention puts them back in place):
  // the same results at real tokens for less work on ragged batches. Block outputs come back padded
  // with zeros at padding positions. Not with a KV cache.
  bool unpadded = false;
  // Unpadded forwards of part of each row: the blocks run only on the real tokens where `run_tokens`
  // (B, T) bool is true. Attention reads the keys and values of the other real tokens from
  // `given_keys_values` (as a forward that ran them captured them, or only their first columns, as
  // long as those hold every token that does not run); a forward whose run tokens see
  // none of the others (e.g. each row's first tokens) needs none. `captured_keys_values` receives
  // every block's keys and values. remedi/loss.cpp's edited pass: the positions before an edit come
  // from the unedited LM without gradients, only the rest is run with them.
  torch::Tensor run_tokens;
  const LayerKeysValues* given_keys_values = nullptr;
  LayerKeysValues* captured_keys_values = nullptr;
};

struct ForwardResult {
  torch::Tensor logits;                          // float32; shape per LogitsAt
  std::map<std::int64_t, torch::Tensor> hidden;  // block outputs for capture_layers, (B, T, H)
  torch::Tensor last_hidden;                     // output of the last block run, (B, T, H)
};

class CausalLM {
 public:
  // `path`: an HF folder (config.json + safetensors) or a .gguf file.
  static std::unique_ptr<CausalLM> load(const std::string& path, const LoadOptions& options = {});
  CausalLM(ModelConfig config, ModelWeights weights, LoadOptions options, std::string path);

  ForwardResult forward(const Batch& batch, const ForwardOptions& options = {}) const;
  // The final norm and the head on last-block outputs (..., H) -> float32 logits (..., V).
  torch::Tensor logits(const torch::Tensor& last_block_output) const;
  // Its two parts: logits(h) == head(final_norm(h)). final_norm keeps the activations' dtype.
  torch::Tensor final_norm(const torch::Tensor& last_block_output) const;
  torch::Tensor head(const torch::Tensor& normed) const;

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  torch::Device device() const { return options_.device; }
  torch::ScalarType dtype() const { return options_.dtype; }  // of activations (float32 when quantized)
  std::optional<QuantFormat> quantized() const { return options_.quantized; }
  const std::string& path() const { return path_; }
  // Bytes of weights that one token's forward reads (every matrix once; embeddings one row).
  std::int64_t weight_bytes_per_token() const;

 private:
  ModelConfig config_;
  const FamilyDescription* family_;  // of config_.family
  ModelWeights weights_;
  LoadOptions options_;
  std::string path_;
};

// The rewrite an Intervention applies to block output `hidden` (B, T, H); differentiable in the
// directions. Exposed so a caller holding block l's output can edit it and resume at block l + 1.
torch::Tensor apply_intervention(const torch::Tensor& hidden, const Intervention& edit);

// Parses "cpu", "cuda", "cuda:N" and "fp32" / "bf16" / "fp16"; throws remedi::Error naming the
// option otherwise (and for cuda when libtorch has no CUDA device).
torch::Device parse_device(const std::string& text);
torch::ScalarType parse_dtype(const std::string& text);
// "q8_0", "q4_0", "q4_1" (or "q4"): a weight-only quantized format; nullopt for anything else.
std::optional<QuantFormat> parse_quant_format(const std::string& text);
// A command's --device and --dtype: dense fp32 / bf16 / fp16, or quantized weights with float32
// activations (q8_0, q4_0, q4_1; LoadOptions::quantized). remedi::Error naming the flag otherwise.
LoadOptions load_options(const std::string& device, const std::string& dtype);

}  // namespace remedi::lm
