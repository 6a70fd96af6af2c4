// GPT-J: one LayerNorm feeding attention and MLP in parallel, interleaved partial rotary
// (rotary_dim features of each head), no attention biases, untied head with a bias.
#include <torch/torch.h>

#include <string>

#include "lm/layers.h"
#include "lm/weights.h"

namespace remedi::lm {

ModelWeights load_gptj_weights(const ModelConfig& c, const TensorSource& source) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t inner = c.intermediate_size;
  const bool gguf = source.is_gguf();
  // Tensor names: HF GPTJForCausalLM, or llama.cpp's GGUF names.
  const auto name = [gguf](std::int64_t l, const char* hf, const char* gg) {
    return gguf ? "blk." + std::to_string(l) + "." + gg : "transformer.h." + std::to_string(l) + "." + hf;
  };
  ModelWeights w;
  w.token_embedding =
      load_checked(source, gguf ? "token_embd.weight" : "transformer.wte.weight", {c.vocab_size, hidden});
  w.layers.resize(static_cast<std::size_t>(c.n_layer));
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.norm1_weight = load_checked(source, name(l, "ln_1.weight", "attn_norm.weight"), {hidden});
    lw.norm1_bias = load_checked(source, name(l, "ln_1.bias", "attn_norm.bias"), {hidden});
    lw.qkv_weight =
        torch::cat({load_checked(source, name(l, "attn.q_proj.weight", "attn_q.weight"), {hidden, hidden}),
                    load_checked(source, name(l, "attn.k_proj.weight", "attn_k.weight"), {hidden, hidden}),
                    load_checked(source, name(l, "attn.v_proj.weight", "attn_v.weight"), {hidden, hidden})});
    lw.out_weight =
        load_checked(source, name(l, "attn.out_proj.weight", "attn_output.weight"), {hidden, hidden});
    lw.up_weight = load_checked(source, name(l, "mlp.fc_in.weight", "ffn_up.weight"), {inner, hidden});
    lw.up_bias = load_checked(source, name(l, "mlp.fc_in.bias", "ffn_up.bias"), {inner});
    lw.down_weight = load_checked(source, name(l, "mlp.fc_out.weight", "ffn_down.weight"), {hidden, inner});
    lw.down_bias = load_checked(source, name(l, "mlp.fc_out.bias", "ffn_down.bias"), {hidden});
  }
  w.final_norm_weight =
      load_checked(source, gguf ? "output_norm.weight" : "transformer.ln_f.weight", {hidden});
  w.final_norm_bias = load_checked(source, gguf ? "output_norm.bias" : "transformer.ln_f.bias", {hidden});
  w.lm_head_weight = load_checked(source, gguf ? "output.weight" : "lm_head.weight", {c.vocab_size, hidden});
  w.lm_head_bias = load_checked(source, gguf ? "output.bias" : "lm_head.bias", {c.vocab_size});
  return w;
}

torch::Tensor gptj_block(const ModelConfig& config, const LayerWeights& w, const torch::Tensor& x,
                         const AttentionInputs& inputs, LayerCache cache) {
  const torch::Tensor normed = layer_norm(x, w.norm1_weight, w.norm1_bias, config.norm_eps);  // (B, T, H)
  const torch::Tensor attended =
      self_attention(config, project(normed, w.qkv_weight, torch::Tensor()), inputs, cache);
  const torch::Tensor mlp = project(activation(project(normed, w.up_weight, w.up_bias), config.activation),
                                    w.down_weight, w.down_bias);
  return x + project(attended, w.out_weight, torch::Tensor()) + mlp;
}

}  // namespace remedi::lm
