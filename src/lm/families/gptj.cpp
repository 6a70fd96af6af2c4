// GPT-J: one LayerNorm feeding attention and MLP in parallel, interleaved partial rotary
// (rotary_dim features of each head), no attention biases, untied head with a bias.
#include "lm/config_reader.h"
#include "lm/family.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// An absent rotary_dim takes the class default (64); null rotates the whole head.
void rotary_dim_from_json(const JsonConfig& json, ModelConfig& config) {
  config.rotary_dim = json.is_null("rotary_dim") ? config.head_dim : json.size("rotary_dim", 64);
  check_rotary(config, json.path(), "rotary_dim");
}

// transformers' GPTJConfig defaults (GPT-J 6B).
constexpr std::array kHfKeys{
    HfKey::size("n_layer", &C::n_layer, 28),
    HfKey::size("n_embd", &C::hidden_size, 4096),
    HfKey::size("n_head", &C::n_head, 16),
    HfKey::head_dim("n_head"),
    HfKey::step(rotary_dim_from_json),
    HfKey::size("n_inner", &C::intermediate_size, times(4, &C::hidden_size)),
    HfKey::size("vocab_size", &C::vocab_size, 50400),
    HfKey::size("n_positions", &C::max_positions, 2048),
    HfKey::number("layer_norm_epsilon", &C::norm_eps, 1e-5),
    HfKey::activation("activation_function", "gelu_new"),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
    HfKey::token("bos_token_id", &C::bos_token_id, 50256),
    HfKey::token("eos_token_id", &C::eos_token_id, 50256),
};
constexpr std::array kHfModelTypes{HfModelType{"gptj", kHfKeys}};

constexpr std::array kGgufKeys{
    GgufKey::size("feed_forward_length", &C::intermediate_size, times(4, &C::hidden_size)),
    GgufKey::size("context_length", &C::max_positions),
    GgufKey::number("attention.layer_norm_epsilon", &C::norm_eps),
    GgufKey::step(rotary_from_gguf),
};

// HF GPTJForCausalLM names and llama.cpp's GGUF names. A tied head keeps its bias, as in transformers.
constexpr std::array kTensors{
    TensorSpec{
        Slot::TokenEmbedding, "transformer.wte.weight", "token_embd.weight", {Dim::Vocab, Dim::Hidden}},
    TensorSpec{Slot::Norm1Weight, "ln_1.weight", "attn_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::Norm1Bias, "ln_1.bias", "attn_norm.bias", {Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "attn.q_proj.weight", "attn_q.weight", {Dim::QRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "attn.k_proj.weight", "attn_k.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "attn.v_proj.weight", "attn_v.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::OutWeight, "attn.out_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
    TensorSpec{Slot::UpWeight, "mlp.fc_in.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
    TensorSpec{Slot::UpBias, "mlp.fc_in.bias", "ffn_up.bias", {Dim::Inner}},
    TensorSpec{Slot::DownWeight, "mlp.fc_out.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    TensorSpec{Slot::DownBias, "mlp.fc_out.bias", "ffn_down.bias", {Dim::Hidden}},
    TensorSpec{Slot::FinalNormWeight, "transformer.ln_f.weight", "output_norm.weight", {Dim::Hidden}},
    TensorSpec{Slot::FinalNormBias, "transformer.ln_f.bias", "output_norm.bias", {Dim::Hidden}},
    TensorSpec{
        Slot::LmHeadWeight, "lm_head.weight", "output.weight", {Dim::Vocab, Dim::Hidden}, When::UnlessTied},
    TensorSpec{Slot::LmHeadBias, "lm_head.bias", "output.bias", {Dim::Vocab}},
};

}  // namespace

extern const FamilyDescription kGptJFamily;
constexpr FamilyDescription kGptJFamily{
    .name = Family::GPTJ.name,
    .hf = kHfModelTypes,
    .hf_layers = "transformer.h.",
    .gguf_architecture = "gptj",
    .gguf = kGgufKeys,
    // rope_theta is fixed in GPT-J's create_sinusoidal_positions; attention and MLP always in parallel.
    .fixed = {.activation = Activation::GeluNew,
              .rope_theta = 10000.0,
              .rotary_interleaved = true,
              .use_parallel_residual = true,
              .mlp_bias = true},
    .tensors = kTensors,
    .block = {.norm = Norm::Layer, .mlp = Mlp::Plain},
};

}  // namespace remedi::lm
