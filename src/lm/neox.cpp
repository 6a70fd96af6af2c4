// GPT-NeoX: fused per-head QKV, half-split partial rotary (rotary_pct), parallel or sequential
// residual, untied head.
#include <torch/torch.h>

#include <string>

#include "lm/layers.h"
#include "lm/weights.h"

namespace remedi::lm {

namespace {

// HF and GGUF both store query_key_value as rows grouped by head: (head, {q, k, v}, head_dim).
// Regroup to q (all heads), k, v so that self_attention can slice them.
torch::Tensor regroup_qkv(const torch::Tensor& fused, std::int64_t n_head, std::int64_t head_dim) {
  const std::vector<std::int64_t> grouped{n_head, 3, head_dim};
  std::vector<std::int64_t> shape = grouped;
  for (std::int64_t d = 1; d < fused.dim(); ++d) shape.push_back(fused.size(d));
  const torch::Tensor per_head = fused.reshape(shape);  // (head, 3, head_dim, ...)
  return per_head.transpose(0, 1).reshape(fused.sizes()).contiguous();
}

}  // namespace

ModelWeights load_neox_weights(const ModelConfig& c, const TensorSource& source) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t inner = c.intermediate_size;
  const bool gguf = source.is_gguf();
  const auto name = [gguf](std::int64_t l, const char* hf, const char* gg) {
    return gguf ? "blk." + std::to_string(l) + "." + gg : "gpt_neox.layers." + std::to_string(l) + "." + hf;
  };
  ModelWeights w;
  w.token_embedding =
      load_checked(source, gguf ? "token_embd.weight" : "gpt_neox.embed_in.weight", {c.vocab_size, hidden});
  w.layers.resize(static_cast<std::size_t>(c.n_layer));
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.norm1_weight = load_checked(source, name(l, "input_layernorm.weight", "attn_norm.weight"), {hidden});
    lw.norm1_bias = load_checked(source, name(l, "input_layernorm.bias", "attn_norm.bias"), {hidden});
    lw.norm2_weight =
        load_checked(source, name(l, "post_attention_layernorm.weight", "ffn_norm.weight"), {hidden});
    lw.norm2_bias = load_checked(source, name(l, "post_attention_layernorm.bias", "ffn_norm.bias"), {hidden});
    lw.qkv_weight =
        regroup_qkv(load_checked(source, name(l, "attention.query_key_value.weight", "attn_qkv.weight"),
                                 {3 * hidden, hidden}),
                    c.n_head, c.head_dim);
    lw.qkv_bias = regroup_qkv(
        load_checked(source, name(l, "attention.query_key_value.bias", "attn_qkv.bias"), {3 * hidden}),
        c.n_head, c.head_dim);
    lw.out_weight =
        load_checked(source, name(l, "attention.dense.weight", "attn_output.weight"), {hidden, hidden});
    lw.out_bias = load_checked(source, name(l, "attention.dense.bias", "attn_output.bias"), {hidden});
    lw.up_weight =
        load_checked(source, name(l, "mlp.dense_h_to_4h.weight", "ffn_up.weight"), {inner, hidden});
    lw.up_bias = load_checked(source, name(l, "mlp.dense_h_to_4h.bias", "ffn_up.bias"), {inner});
    lw.down_weight =
        load_checked(source, name(l, "mlp.dense_4h_to_h.weight", "ffn_down.weight"), {hidden, inner});
    lw.down_bias = load_checked(source, name(l, "mlp.dense_4h_to_h.bias", "ffn_down.bias"), {hidden});
  }
  w.final_norm_weight =
      load_checked(source, gguf ? "output_norm.weight" : "gpt_neox.final_layer_norm.weight", {hidden});
  w.final_norm_bias =
      load_checked(source, gguf ? "output_norm.bias" : "gpt_neox.final_layer_norm.bias", {hidden});
  const char* head = gguf ? "output.weight" : "embed_out.weight";
  w.lm_head_weight =
      c.tie_word_embeddings ? w.token_embedding : load_checked(source, head, {c.vocab_size, hidden});
  return w;
}

torch::Tensor neox_block(const ModelConfig& config, const LayerWeights& w, const torch::Tensor& x,
                         const AttentionInputs& inputs, LayerCache cache) {
  const double eps = config.norm_eps;
  const torch::Tensor qkv =
      project(layer_norm(x, w.norm1_weight, w.norm1_bias, eps), w.qkv_weight, w.qkv_bias);
  const torch::Tensor attention =
      project(self_attention(config, qkv, inputs, cache), w.out_weight, w.out_bias);
  const auto mlp = [&](const torch::Tensor& input) {
    const torch::Tensor up =
        project(layer_norm(input, w.norm2_weight, w.norm2_bias, eps), w.up_weight, w.up_bias);
    return project(activation(up, config.activation), w.down_weight, w.down_bias);
  };
  if (config.use_parallel_residual) return x + attention + mlp(x);  // both branches read x
  const torch::Tensor h = x + attention;                            // (B, T, H)
  return h + mlp(h);
}

}  // namespace remedi::lm
