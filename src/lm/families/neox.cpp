// GPT-NeoX: fused per-head QKV, half-split partial rotary (rotary_pct), parallel or sequential
// residual, untied head.
#include "lm/config_reader.h"
#include "lm/family.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

void rotary_from_neox_json(const JsonConfig& json, ModelConfig& config) {
  rotary_from_json(json, config, 10000.0, 0.25, "rotary_pct");
}

// transformers' GPTNeoXConfig defaults (GPT-NeoX 20B).
constexpr std::array kHfKeys{
    HfKey::size("num_hidden_layers", &C::n_layer, 44),
    HfKey::size("hidden_size", &C::hidden_size, 6144),
    HfKey::size("num_attention_heads", &C::n_head, 64),
    HfKey::head_dim("num_attention_heads"),
    HfKey::size("intermediate_size", &C::intermediate_size, 24576),
    HfKey::size("vocab_size", &C::vocab_size, 50432),
    HfKey::size("max_position_embeddings", &C::max_positions, 2048),
    HfKey::step(rotary_from_neox_json),
    HfKey::number("layer_norm_eps", &C::norm_eps, 1e-5),
    HfKey::activation("hidden_act", "gelu"),
    HfKey::flag("use_parallel_residual", &C::use_parallel_residual, true),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
    HfKey::refuse("attention_bias", false),
    HfKey::token("bos_token_id", &C::bos_token_id, 0),
    HfKey::token("eos_token_id", &C::eos_token_id, 2),
};
constexpr std::array kHfModelTypes{HfModelType{"gpt_neox", kHfKeys}};

constexpr std::array kGgufKeys{
    GgufKey::size("feed_forward_length", &C::intermediate_size, times(4, &C::hidden_size)),
    GgufKey::size("context_length", &C::max_positions),
    GgufKey::number("attention.layer_norm_epsilon", &C::norm_eps),
    GgufKey::step(rotary_from_gguf),
    GgufKey::flag("use_parallel_residual", &C::use_parallel_residual, true),
};

// HF and GGUF both store query_key_value as rows grouped by head: (head, {q, k, v}, head_dim).
constexpr std::array kTensors{
    TensorSpec{
        Slot::TokenEmbedding, "gpt_neox.embed_in.weight", "token_embd.weight", {Dim::Vocab, Dim::Hidden}},
    TensorSpec{Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm1Bias, "input_layernorm.bias", "attn_norm.bias", {Dim::Hidden}},
    TensorSpec{Slot::Norm2Weight, "post_attention_layernorm.weight", "ffn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm2Bias, "post_attention_layernorm.bias", "ffn_norm.bias", {Dim::Hidden}},
    TensorSpec{Slot::QkvWeight,
               "attention.query_key_value.weight",
               "attn_qkv.weight",
               {Dim::QkvRows, Dim::Hidden},
               When::Always,
               Layout::HeadGroupedQkv},
    TensorSpec{Slot::QkvBias,
               "attention.query_key_value.bias",
               "attn_qkv.bias",
               {Dim::QkvRows},
               When::Always,
               Layout::HeadGroupedQkv},
    TensorSpec{Slot::OutWeight, "attention.dense.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
    TensorSpec{Slot::OutBias, "attention.dense.bias", "attn_output.bias", {Dim::Hidden}},
    TensorSpec{Slot::UpWeight, "mlp.dense_h_to_4h.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
    TensorSpec{Slot::UpBias, "mlp.dense_h_to_4h.bias", "ffn_up.bias", {Dim::Inner}},
    TensorSpec{Slot::DownWeight, "mlp.dense_4h_to_h.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    TensorSpec{Slot::DownBias, "mlp.dense_4h_to_h.bias", "ffn_down.bias", {Dim::Hidden}},
    TensorSpec{
        Slot::FinalNormWeight, "gpt_neox.final_layer_norm.weight", "output_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::FinalNormBias, "gpt_neox.final_layer_norm.bias", "output_norm.bias", {Dim::Hidden}},
    TensorSpec{
        Slot::LmHeadWeight, "embed_out.weight", "output.weight", {Dim::Vocab, Dim::Hidden}, When::UnlessTied},
};

}  // namespace

extern const FamilyDescription kNeoXFamily;
constexpr FamilyDescription kNeoXFamily{
    .name = Family::NeoX.name,
    .hf = kHfModelTypes,
    .hf_layers = "gpt_neox.layers.",
    .gguf_architecture = "gptneox",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::GeluExact, .attention_bias = true, .mlp_bias = true},
    .tensors = kTensors,
    .block = {.norm = Norm::Layer, .mlp = Mlp::Plain},
};

}  // namespace remedi::lm
