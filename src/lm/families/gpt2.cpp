// GPT-2: learned positions, pre-LayerNorm, fused QKV, GELU (tanh approximation), tied head.
#include "lm/family.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// transformers' GPT2Config defaults.
constexpr std::array kHfKeys{
    HfKey::size("n_layer", &C::n_layer, 12),
    HfKey::size("n_embd", &C::hidden_size, 768),
    HfKey::size("n_head", &C::n_head, 12),
    HfKey::head_dim("n_head"),
    HfKey::size("n_inner", &C::intermediate_size, times(4, &C::hidden_size)),
    HfKey::size("vocab_size", &C::vocab_size, 50257),
    HfKey::size("n_positions", &C::max_positions, 1024),
    HfKey::number("layer_norm_epsilon", &C::norm_eps, 1e-5),
    HfKey::activation("activation_function", "gelu_new"),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, true),
    HfKey::token("bos_token_id", &C::bos_token_id, 50256),
    HfKey::token("eos_token_id", &C::eos_token_id, 50256),
    // Options that change the computation and that the runtime does not implement.
    HfKey::refuse("scale_attn_weights", false),
    HfKey::refuse("scale_attn_by_inverse_layer_idx", true),
    HfKey::refuse("add_cross_attention", true),
};
constexpr std::array kHfModelTypes{HfModelType{"gpt2", kHfKeys}};

// GPT-2 style MLPs default to 4 x hidden.
constexpr std::array kGgufKeys{
    GgufKey::size("feed_forward_length", &C::intermediate_size, times(4, &C::hidden_size)),
    GgufKey::size("context_length", &C::max_positions),
    GgufKey::number("attention.layer_norm_epsilon", &C::norm_eps),
};

// HF Conv1D weights are stored [in, out]; GGUF (llama.cpp names) stores them [out, in]. GPT2Model
// checkpoints lack the "transformer." prefix of GPT2LMHeadModel ones. GPT-2 ties its head
// (lm_head.weight, when saved, is a copy of the embedding); a GGUF file may store it.
constexpr std::array kTensors{
    TensorSpec{
        Slot::TokenEmbedding, "transformer.wte.weight", "token_embd.weight", {Dim::Vocab, Dim::Hidden}},
    TensorSpec{Slot::PositionEmbedding,
               "transformer.wpe.weight",
               "position_embd.weight",
               {Dim::Positions, Dim::Hidden}},
    TensorSpec{Slot::Norm1Weight, "ln_1.weight", "attn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm1Bias, "ln_1.bias", "attn_norm.bias", {Dim::Hidden}},
    TensorSpec{Slot::QkvWeight,
               "attn.c_attn.weight",
               "attn_qkv.weight",
               {Dim::QkvRows, Dim::Hidden},
               When::Always,
               Layout::HfConv1D},
    TensorSpec{Slot::QkvBias, "attn.c_attn.bias", "attn_qkv.bias", {Dim::QkvRows}},
    TensorSpec{Slot::OutWeight,
               "attn.c_proj.weight",
               "attn_output.weight",
               {Dim::Hidden, Dim::QRows},
               When::Always,
               Layout::HfConv1D},
    TensorSpec{Slot::OutBias, "attn.c_proj.bias", "attn_output.bias", {Dim::Hidden}},
    TensorSpec{Slot::Norm2Weight, "ln_2.weight", "ffn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm2Bias, "ln_2.bias", "ffn_norm.bias", {Dim::Hidden}},
    TensorSpec{Slot::UpWeight,
               "mlp.c_fc.weight",
               "ffn_up.weight",
               {Dim::Inner, Dim::Hidden},
               When::Always,
               Layout::HfConv1D},
    TensorSpec{Slot::UpBias, "mlp.c_fc.bias", "ffn_up.bias", {Dim::Inner}},
    TensorSpec{Slot::DownWeight,
               "mlp.c_proj.weight",
               "ffn_down.weight",
               {Dim::Hidden, Dim::Inner},
               When::Always,
               Layout::HfConv1D},
    TensorSpec{Slot::DownBias, "mlp.c_proj.bias", "ffn_down.bias", {Dim::Hidden}},
    TensorSpec{Slot::FinalNormWeight, "transformer.ln_f.weight", "output_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::FinalNormBias, "transformer.ln_f.bias", "output_norm.bias", {Dim::Hidden}},
    TensorSpec{
        Slot::LmHeadWeight, "lm_head.weight", "output.weight", {Dim::Vocab, Dim::Hidden}, When::UnlessTied},
};

}  // namespace

extern const FamilyDescription kGpt2Family;
constexpr FamilyDescription kGpt2Family{
    .name = Family::GPT2.name,
    .hf = kHfModelTypes,
    .hf_layers = "transformer.h.",
    .hf_optional_prefix = "transformer.",
    .gguf_architecture = "gpt2",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::GeluNew, .attention_bias = true, .mlp_bias = true},
    .tensors = kTensors,
    .block = {.norm = Norm::Layer, .mlp = Mlp::Plain},
};

}  // namespace remedi::lm
