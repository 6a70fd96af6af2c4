// Llama (and SmolLM2, and Mistral's layout): RMSNorm, half-split rotary with rope_theta,
// grouped-query attention, SwiGLU MLP, tied or untied head.
#include <optional>
#include <string>

#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// A sliding window changes nothing while it covers the whole context.
void refuse_sliding_window(const JsonConfig& json, const ModelConfig& config,
                           std::optional<std::int64_t> window) {
  if (json.is_null("sliding_window")) {
    window.reset();
  } else if (json.has("sliding_window")) {
    window = json.size("sliding_window", 0);
  }
  if (window && *window < config.max_positions) {
    throw Error(json.path(), "sliding_window",
                "sliding-window attention (" + std::to_string(*window) + " of " +
                    std::to_string(config.max_positions) + " positions) is not supported");
  }
}

// Class defaults of transformers' LlamaConfig (Llama 7B) and MistralConfig (Mistral 7B), which
// share the layout; Mistral has no bias options and a 4096-token sliding window by default.
struct Defaults {
  SizeFallback n_kv_head;
  std::int64_t intermediate_size;
  std::int64_t max_positions;
  bool has_bias_options;
  void (*sliding_window)(const JsonConfig&, ModelConfig&);
};

constexpr auto hf_keys(const Defaults& d) {
  // Rows a dialect lacks are steps that do nothing.
  return std::array{
      HfKey::size("num_hidden_layers", &C::n_layer, 32),
      HfKey::size("hidden_size", &C::hidden_size, 4096),
      HfKey::size("num_attention_heads", &C::n_head, 32),
      HfKey::kv_heads("num_key_value_heads", d.n_kv_head),
      HfKey::head_dim("num_attention_heads", "head_dim"),
      HfKey::size("intermediate_size", &C::intermediate_size, d.intermediate_size),
      HfKey::size("vocab_size", &C::vocab_size, 32000),
      HfKey::size("max_position_embeddings", &C::max_positions, d.max_positions),
      HfKey::step(rotary_from_llama_json),
      HfKey::number("rms_norm_eps", &C::norm_eps, 1e-6),
      HfKey::activation("hidden_act", "silu"),
      HfKey::step(require_silu),
      HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
      d.has_bias_options ? HfKey::flag("attention_bias", &C::attention_bias, false) : HfKey::step(nullptr),
      d.has_bias_options ? HfKey::flag("mlp_bias", &C::mlp_bias, false) : HfKey::step(nullptr),
      HfKey::step(d.sliding_window),
      HfKey::token("bos_token_id", &C::bos_token_id, 1),
      HfKey::token("eos_token_id", &C::eos_token_id, 2),
  };
}
constexpr auto kLlamaKeys = hf_keys({.n_kv_head = times(1, &C::n_head),
                                     .intermediate_size = 11008,
                                     .max_positions = 2048,
                                     .has_bias_options = true,
                                     .sliding_window = [](const JsonConfig& json, ModelConfig& config) {
                                       refuse_sliding_window(json, config, std::nullopt);
                                     }});
constexpr auto kMistralKeys = hf_keys({.n_kv_head = 8,
                                       .intermediate_size = 14336,
                                       .max_positions = 131072,
                                       .has_bias_options = false,
                                       .sliding_window = [](const JsonConfig& json, ModelConfig& config) {
                                         refuse_sliding_window(json, config, 4096);
                                       }});
constexpr std::array kHfModelTypes{HfModelType{"llama", kLlamaKeys}, HfModelType{"mistral", kMistralKeys}};

// Llama's MLP width is not derived from the hidden size.
constexpr auto kGgufKeys = kLlamaLikeGgufKeys;

// GGUF Q and K (weights and biases) carry llama.cpp's row permutation.
constexpr auto kTensors = join(
    kLlamaLikeEmbedding,
    std::array{
        TensorSpec{Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight", {Dim::Hidden}},
        TensorSpec{Slot::Norm2Weight, "post_attention_layernorm.weight", "ffn_norm.weight", {Dim::Hidden}},
        TensorSpec{Slot::QkvWeight,
                   "self_attn.q_proj.weight",
                   "attn_q.weight",
                   {Dim::QRows, Dim::Hidden},
                   When::Always,
                   Layout::GgufRotaryRows},
        TensorSpec{Slot::QkvWeight,
                   "self_attn.k_proj.weight",
                   "attn_k.weight",
                   {Dim::KvRows, Dim::Hidden},
                   When::Always,
                   Layout::GgufRotaryRows},
        TensorSpec{Slot::QkvWeight, "self_attn.v_proj.weight", "attn_v.weight", {Dim::KvRows, Dim::Hidden}},
        TensorSpec{
            Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
        TensorSpec{Slot::QkvBias,
                   "self_attn.q_proj.bias",
                   "attn_q.bias",
                   {Dim::QRows},
                   When::AttentionBias,
                   Layout::GgufRotaryRows},
        TensorSpec{Slot::QkvBias,
                   "self_attn.k_proj.bias",
                   "attn_k.bias",
                   {Dim::KvRows},
                   When::AttentionBias,
                   Layout::GgufRotaryRows},
        TensorSpec{Slot::QkvBias, "self_attn.v_proj.bias", "attn_v.bias", {Dim::KvRows}, When::AttentionBias},
        TensorSpec{
            Slot::OutBias, "self_attn.o_proj.bias", "attn_output.bias", {Dim::Hidden}, When::AttentionBias},
        TensorSpec{Slot::GateUpWeight, "mlp.gate_proj.weight", "ffn_gate.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::GateUpWeight, "mlp.up_proj.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
        TensorSpec{Slot::GateUpBias, "mlp.gate_proj.bias", "ffn_gate.bias", {Dim::Inner}, When::MlpBias},
        TensorSpec{Slot::GateUpBias, "mlp.up_proj.bias", "ffn_up.bias", {Dim::Inner}, When::MlpBias},
        TensorSpec{Slot::DownBias, "mlp.down_proj.bias", "ffn_down.bias", {Dim::Hidden}, When::MlpBias},
    },
    kLlamaLikeFinalRows);

}  // namespace

extern const FamilyDescription kLlamaFamily;
constexpr FamilyDescription kLlamaFamily{
    .name = Family::Llama.name,
    .hf = kHfModelTypes,
    .hf_layers = "model.layers.",
    .gguf_architecture = "llama",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu},
    .tensors = kTensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
