// Qwen2 (and Qwen2.5, the same architecture) and Qwen3: Llama's block with q/k/v biases (Qwen2), or
// with an RMSNorm of each query and key head before the rotary (Qwen3, which has an explicit
// head_dim and optional biases). llama.cpp keeps HF's half-split rotary for both (rope type NEOX),
// so GGUF Q and K rows are stored as in HF files.
#include <string>

#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// Qwen's sliding window (off by default) covers layers max_window_layers.. when use_sliding_window is
// set; it changes nothing while it spans the whole context.
void refuse_sliding_window(const JsonConfig& json, ModelConfig& config) {
  if (!json.flag("use_sliding_window", false)) {
    check_layer_types(json, config);
    return;
  }
  const std::int64_t window = json.size("sliding_window", 4096);
  if (window < config.max_positions && json.size("max_window_layers", 28) < config.n_layer) {
    throw Error(json.path(), "use_sliding_window",
                "sliding-window attention (" + std::to_string(window) + " of " +
                    std::to_string(config.max_positions) + " positions) is not supported");
  }
}

// transformers' Qwen2Config / Qwen3Config defaults (Qwen2 7B's shape); Qwen3 adds head_dim and the
// attention_bias option.
constexpr auto hf_keys(bool qwen3) {
  return std::array{
      HfKey::size("num_hidden_layers", &C::n_layer, 32),
      HfKey::size("hidden_size", &C::hidden_size, 4096),
      HfKey::size("num_attention_heads", &C::n_head, 32),
      HfKey::kv_heads("num_key_value_heads", 32),
      qwen3 ? HfKey::size("head_dim", &C::head_dim, 128) : HfKey::head_dim("num_attention_heads", "head_dim"),
      HfKey::size("intermediate_size", &C::intermediate_size, 22016),
      HfKey::size("vocab_size", &C::vocab_size, 151936),
      HfKey::size("max_position_embeddings", &C::max_positions, 32768),
      HfKey::step(rotary_from_llama_json),
      HfKey::number("rms_norm_eps", &C::norm_eps, 1e-6),
      HfKey::activation("hidden_act", "silu"),
      HfKey::step(require_silu),
      HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
      qwen3 ? HfKey::flag("attention_bias", &C::attention_bias, false) : HfKey::step(nullptr),
      HfKey::step(refuse_sliding_window),
      HfKey::token("bos_token_id", &C::bos_token_id, -1),
      HfKey::token("eos_token_id", &C::eos_token_id, -1),
  };
}
constexpr auto kQwen2Keys = hf_keys(false);
constexpr auto kQwen3Keys = hf_keys(true);
constexpr std::array kQwen2Types{HfModelType{"qwen2", kQwen2Keys}};
constexpr std::array kQwen3Types{HfModelType{"qwen3", kQwen3Keys}};

constexpr auto kGgufKeys = kLlamaLikeGgufKeys;

// The rows of both, around the attention's (Qwen2: q/k/v biases always, none on the output).
constexpr std::array kBefore{
    TensorSpec{Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm2Weight, "post_attention_layernorm.weight", "ffn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "self_attn.q_proj.weight", "attn_q.weight", {Dim::QRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "self_attn.k_proj.weight", "attn_k.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "self_attn.v_proj.weight", "attn_v.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
};
constexpr auto kAfter = join(
    std::array{
        TensorSpec{Slot::GateUpWeight, "mlp.gate_proj.weight", "ffn_gate.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::GateUpWeight, "mlp.up_proj.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    },
    kLlamaLikeFinalRows);

constexpr auto kQwen2Tensors =
    join(kLlamaLikeEmbedding, kBefore,
         std::array{
             TensorSpec{Slot::QkvBias, "self_attn.q_proj.bias", "attn_q.bias", {Dim::QRows}},
             TensorSpec{Slot::QkvBias, "self_attn.k_proj.bias", "attn_k.bias", {Dim::KvRows}},
             TensorSpec{Slot::QkvBias, "self_attn.v_proj.bias", "attn_v.bias", {Dim::KvRows}},
         },
         kAfter);

constexpr auto kQwen3Tensors = join(
    kLlamaLikeEmbedding, kBefore,
    std::array{
        TensorSpec{Slot::QkvBias, "self_attn.q_proj.bias", "attn_q.bias", {Dim::QRows}, When::AttentionBias},
        TensorSpec{Slot::QkvBias, "self_attn.k_proj.bias", "attn_k.bias", {Dim::KvRows}, When::AttentionBias},
        TensorSpec{Slot::QkvBias, "self_attn.v_proj.bias", "attn_v.bias", {Dim::KvRows}, When::AttentionBias},
        TensorSpec{
            Slot::OutBias, "self_attn.o_proj.bias", "attn_output.bias", {Dim::Hidden}, When::AttentionBias},
        TensorSpec{Slot::QNormWeight, "self_attn.q_norm.weight", "attn_q_norm.weight", {Dim::HeadDim}},
        TensorSpec{Slot::KNormWeight, "self_attn.k_norm.weight", "attn_k_norm.weight", {Dim::HeadDim}},
    },
    kAfter);

}  // namespace

extern const FamilyDescription kQwen2Family, kQwen3Family;
constexpr FamilyDescription kQwen2Family{
    .name = "qwen2",
    .hf = kQwen2Types,
    .hf_layers = "model.layers.",
    .gguf_architecture = "qwen2",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu},
    .tensors = kQwen2Tensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};
constexpr FamilyDescription kQwen3Family{
    .name = "qwen3",
    .hf = kQwen3Types,
    .hf_layers = "model.layers.",
    .gguf_architecture = "qwen3",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu},
    .tensors = kQwen3Tensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
