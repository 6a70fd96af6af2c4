// GPT-2: learned positions, pre-LayerNorm, fused QKV, GELU (tanh approximation), tied head.
#include <torch/torch.h>

#include <string>

#include "lm/layers.h"
#include "lm/weights.h"

namespace remedi::lm {

namespace {

// HF GPT-2 checkpoints come with and without the "transformer." prefix; Conv1D weights are stored
// [in, out] and are transposed here. GGUF (llama.cpp names) stores them [out, in] already.
struct Gpt2Names {
  const TensorSource& source;
  std::string prefix;

  explicit Gpt2Names(const TensorSource& s)
      : source(s), prefix(s.has("transformer.wte.weight") ? "transformer." : "") {}
  std::string layer(std::int64_t l, const std::string& rest) const {
    return prefix + "h." + std::to_string(l) + "." + rest;
  }
  torch::Tensor conv1d_weight(const std::string& name, std::int64_t in, std::int64_t out) const {
    return load_checked(source, name, {in, out}).t().contiguous();
  }
};

}  // namespace

ModelWeights load_gpt2_weights(const ModelConfig& c, const TensorSource& source) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t inner = c.intermediate_size;
  ModelWeights w;
  w.layers.resize(static_cast<std::size_t>(c.n_layer));
  if (source.is_gguf()) {
    w.token_embedding = load_checked(source, "token_embd.weight", {c.vocab_size, hidden});
    w.position_embedding = load_checked(source, "position_embd.weight", {c.max_positions, hidden});
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
      lw.norm1_weight = load_checked(source, p + "attn_norm.weight", {hidden});
      lw.norm1_bias = load_checked(source, p + "attn_norm.bias", {hidden});
      lw.qkv_weight = load_checked(source, p + "attn_qkv.weight", {3 * hidden, hidden});
      lw.qkv_bias = load_checked(source, p + "attn_qkv.bias", {3 * hidden});
      lw.out_weight = load_checked(source, p + "attn_output.weight", {hidden, hidden});
      lw.out_bias = load_checked(source, p + "attn_output.bias", {hidden});
      lw.norm2_weight = load_checked(source, p + "ffn_norm.weight", {hidden});
      lw.norm2_bias = load_checked(source, p + "ffn_norm.bias", {hidden});
      lw.up_weight = load_checked(source, p + "ffn_up.weight", {inner, hidden});
      lw.up_bias = load_checked(source, p + "ffn_up.bias", {inner});
      lw.down_weight = load_checked(source, p + "ffn_down.weight", {hidden, inner});
      lw.down_bias = load_checked(source, p + "ffn_down.bias", {hidden});
    }
    w.final_norm_weight = load_checked(source, "output_norm.weight", {hidden});
    w.final_norm_bias = load_checked(source, "output_norm.bias", {hidden});
    w.lm_head_weight = source.has("output.weight")
                           ? load_checked(source, "output.weight", {c.vocab_size, hidden})
                           : w.token_embedding;
    return w;
  }
  const Gpt2Names names(source);
  w.token_embedding = load_checked(source, names.prefix + "wte.weight", {c.vocab_size, hidden});
  w.position_embedding = load_checked(source, names.prefix + "wpe.weight", {c.max_positions, hidden});
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.norm1_weight = load_checked(source, names.layer(l, "ln_1.weight"), {hidden});
    lw.norm1_bias = load_checked(source, names.layer(l, "ln_1.bias"), {hidden});
    lw.qkv_weight = names.conv1d_weight(names.layer(l, "attn.c_attn.weight"), hidden, 3 * hidden);
    lw.qkv_bias = load_checked(source, names.layer(l, "attn.c_attn.bias"), {3 * hidden});
    lw.out_weight = names.conv1d_weight(names.layer(l, "attn.c_proj.weight"), hidden, hidden);
    lw.out_bias = load_checked(source, names.layer(l, "attn.c_proj.bias"), {hidden});
    lw.norm2_weight = load_checked(source, names.layer(l, "ln_2.weight"), {hidden});
    lw.norm2_bias = load_checked(source, names.layer(l, "ln_2.bias"), {hidden});
    lw.up_weight = names.conv1d_weight(names.layer(l, "mlp.c_fc.weight"), hidden, inner);
    lw.up_bias = load_checked(source, names.layer(l, "mlp.c_fc.bias"), {inner});
    lw.down_weight = names.conv1d_weight(names.layer(l, "mlp.c_proj.weight"), inner, hidden);
    lw.down_bias = load_checked(source, names.layer(l, "mlp.c_proj.bias"), {hidden});
  }
  w.final_norm_weight = load_checked(source, names.prefix + "ln_f.weight", {hidden});
  w.final_norm_bias = load_checked(source, names.prefix + "ln_f.bias", {hidden});
  // GPT-2 always ties its head to the token embedding (lm_head.weight, when saved, is a copy).
  w.lm_head_weight = w.token_embedding;
  return w;
}

torch::Tensor gpt2_block(const ModelConfig& config, const LayerWeights& w, const torch::Tensor& x,
                         const AttentionInputs& inputs, LayerCache cache) {
  const double eps = config.norm_eps;
  const torch::Tensor qkv =
      project(layer_norm(x, w.norm1_weight, w.norm1_bias, eps), w.qkv_weight, w.qkv_bias);
  const torch::Tensor attended = self_attention(config, qkv, inputs, cache);
  const torch::Tensor h = x + project(attended, w.out_weight, w.out_bias);  // (B, T, H)
  const torch::Tensor up = project(layer_norm(h, w.norm2_weight, w.norm2_bias, eps), w.up_weight, w.up_bias);
  return h + project(activation(up, config.activation), w.down_weight, w.down_bias);
}

}  // namespace remedi::lm
