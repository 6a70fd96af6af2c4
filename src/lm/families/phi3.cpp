// Phi-3 (and Phi-3.5 mini): Llama's block with the q, k and v projections fused in one matrix and
// gate and up in another, an optional sliding window on every layer, and "longrope" rotary scaling
// (per-dimension factors, short or long by the context reached, and scaled cos / sin; from GGUF
// files, the rope_factors_long / _short tensors).
#include <string>

#include "io/gguf.h"
#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// Rotary settings: as Llama's, with Phi-3's scaling names ("su" and "yarn" mean longrope, which
// brings short / long factors, the original context and the cos / sin scale: lm/rope_scaling.h).
void rotary_from_phi3_json(const JsonConfig& json, ModelConfig& config) {
  rotary_from_json(json, config, 1e4, 1.0, "partial_rotary_factor", /*phi3=*/true);
}

// A window (null: none) covers every layer.
void sliding_window_from_json(const JsonConfig& json, ModelConfig& config) {
  config.sliding_window = json.has("sliding_window") ? json.size("sliding_window", std::nullopt) : 0;
}

// transformers' Phi3Config defaults (Phi-3 mini 4k).
constexpr std::array kHfKeys{
    HfKey::size("num_hidden_layers", &C::n_layer, 32),
    HfKey::size("hidden_size", &C::hidden_size, 3072),
    HfKey::size("num_attention_heads", &C::n_head, 32),
    HfKey::kv_heads("num_key_value_heads", times(1, &C::n_head)),
    HfKey::head_dim("num_attention_heads"),
    HfKey::size("intermediate_size", &C::intermediate_size, 8192),
    HfKey::size("vocab_size", &C::vocab_size, 32064),
    HfKey::size("max_position_embeddings", &C::max_positions, 4096),
    HfKey::step(rotary_from_phi3_json),
    HfKey::number("rms_norm_eps", &C::norm_eps, 1e-5),
    HfKey::activation("hidden_act", "silu"),
    HfKey::step(require_silu),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
    HfKey::step(sliding_window_from_json),
    HfKey::token("bos_token_id", &C::bos_token_id, 1),
    HfKey::token("eos_token_id", &C::eos_token_id, 32000),
};
constexpr std::array kHfModelTypes{HfModelType{"phi3", kHfKeys}};

constexpr std::array kGgufKeys{
    GgufKey::size("feed_forward_length", &C::intermediate_size),
    GgufKey::size("context_length", &C::max_positions),
    GgufKey::number("attention.layer_norm_rms_epsilon", &C::norm_eps),
    GgufKey::step(rotary_from_gguf),
    GgufKey::step([](const GgufKeys& keys, ModelConfig& config) {
      // llama.cpp's converter writes 0 for a model without a window (Phi-4).
      const bool window = keys.has("attention.sliding_window") &&
                          keys.file().get_int(keys.name("attention.sliding_window")) != 0;
      config.sliding_window = window ? keys.size("attention.sliding_window", std::nullopt) : 0;
    }),
};

// The fused rows are q (all heads), k, v and gate, up: the slots' own order.
constexpr auto kTensors = join(
    kLlamaLikeEmbedding,
    std::array{
        TensorSpec{Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight", {Dim::Hidden}},
        TensorSpec{
            Slot::QkvWeight, "self_attn.qkv_proj.weight", "attn_qkv.weight", {Dim::QkvRows, Dim::Hidden}},
        TensorSpec{
            Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
        TensorSpec{Slot::Norm2Weight, "post_attention_layernorm.weight", "ffn_norm.weight", {Dim::Hidden}},
        TensorSpec{
            Slot::GateUpWeight, "mlp.gate_up_proj.weight", "ffn_up.weight", {Dim::Inner2, Dim::Hidden}},
        TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    },
    kLlamaLikeFinalRows);

}  // namespace

extern const FamilyDescription kPhi3Family;
constexpr FamilyDescription kPhi3Family{
    .name = "phi3",
    .hf = kHfModelTypes,
    .hf_layers = "model.layers.",
    .gguf_architecture = "phi3",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu, .global_every = 0},
    .tensors = kTensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
