// OLMo 2: Llama's attention and SwiGLU MLP with the norms moved after them (each branch's output is
// normed before its residual add; no norm before), and RMSNorms of the whole query and key
// projections before the rotary. llama.cpp keeps HF's half-split rotary (rope type NEOX), so GGUF Q
// and K rows are stored as in HF files.
#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// transformers' Olmo2Config defaults (OLMo 2 7B's shape).
constexpr std::array kHfKeys{
    HfKey::size("num_hidden_layers", &C::n_layer, 32),
    HfKey::size("hidden_size", &C::hidden_size, 4096),
    HfKey::size("num_attention_heads", &C::n_head, 32),
    HfKey::kv_heads("num_key_value_heads", times(1, &C::n_head)),
    HfKey::head_dim("num_attention_heads"),
    HfKey::size("intermediate_size", &C::intermediate_size, 11008),
    HfKey::size("vocab_size", &C::vocab_size, 50304),
    HfKey::size("max_position_embeddings", &C::max_positions, 2048),
    HfKey::step(rotary_from_llama_json),
    HfKey::number("rms_norm_eps", &C::norm_eps, 1e-5),
    HfKey::activation("hidden_act", "silu"),
    HfKey::step(require_silu),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
    HfKey::flag("attention_bias", &C::attention_bias, false),
    HfKey::token("bos_token_id", &C::bos_token_id, -1),
    HfKey::token("eos_token_id", &C::eos_token_id, 50279),
};
constexpr std::array kHfModelTypes{HfModelType{"olmo2", kHfKeys}};

constexpr auto kGgufKeys = kLlamaLikeGgufKeys;

constexpr auto kTensors = join(
    kLlamaLikeEmbedding,
    std::array{
        TensorSpec{Slot::QkvWeight, "self_attn.q_proj.weight", "attn_q.weight", {Dim::QRows, Dim::Hidden}},
        TensorSpec{Slot::QkvWeight, "self_attn.k_proj.weight", "attn_k.weight", {Dim::KvRows, Dim::Hidden}},
        TensorSpec{Slot::QkvWeight, "self_attn.v_proj.weight", "attn_v.weight", {Dim::KvRows, Dim::Hidden}},
        TensorSpec{
            Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
        TensorSpec{Slot::QkvBias, "self_attn.q_proj.bias", "attn_q.bias", {Dim::QRows}, When::AttentionBias},
        TensorSpec{Slot::QkvBias, "self_attn.k_proj.bias", "attn_k.bias", {Dim::KvRows}, When::AttentionBias},
        TensorSpec{Slot::QkvBias, "self_attn.v_proj.bias", "attn_v.bias", {Dim::KvRows}, When::AttentionBias},
        TensorSpec{
            Slot::OutBias, "self_attn.o_proj.bias", "attn_output.bias", {Dim::Hidden}, When::AttentionBias},
        TensorSpec{Slot::QNormWeight, "self_attn.q_norm.weight", "attn_q_norm.weight", {Dim::QRows}},
        TensorSpec{Slot::KNormWeight, "self_attn.k_norm.weight", "attn_k_norm.weight", {Dim::KvRows}},
        TensorSpec{Slot::PostAttentionNormWeight,
                   "post_attention_layernorm.weight",
                   "post_attention_norm.weight",
                   {Dim::Hidden}},
        TensorSpec{Slot::GateUpWeight, "mlp.gate_proj.weight", "ffn_gate.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::GateUpWeight, "mlp.up_proj.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
        TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
        TensorSpec{Slot::PostMlpNormWeight,
                   "post_feedforward_layernorm.weight",
                   "post_ffw_norm.weight",
                   {Dim::Hidden}},
    },
    kLlamaLikeFinalRows);

}  // namespace

extern const FamilyDescription kOlmo2Family;
constexpr FamilyDescription kOlmo2Family{
    .name = "olmo2",
    .hf = kHfModelTypes,
    .hf_layers = "model.layers.",
    .gguf_architecture = "olmo2",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu},
    .tensors = kTensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
