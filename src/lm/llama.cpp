// Llama (and SmolLM2): RMSNorm, half-split rotary with rope_theta, grouped-query attention,
// SwiGLU MLP, tied or untied head.
#include <torch/torch.h>

#include <string>

#include "lm/layers.h"
#include "lm/weights.h"

namespace remedi::lm {

namespace {

// llama.cpp's converter reorders the rows of each head of Q and K so that its interleaved rotary
// (pairs x0,x1) matches HF's half-split rotary (x_i, x_{i+d/2}): per head, row (i, half) moves to
// (2i + half). Undo it so that one rotary convention serves HF and GGUF files alike.
torch::Tensor undo_gguf_rotary_permutation(const torch::Tensor& weight, std::int64_t heads,
                                           std::int64_t head_dim) {
  std::vector<std::int64_t> shape{heads, head_dim / 2, 2};
  for (std::int64_t d = 1; d < weight.dim(); ++d) shape.push_back(weight.size(d));
  return weight.reshape(shape).transpose(1, 2).reshape(weight.sizes()).contiguous();
}

}  // namespace

ModelWeights load_llama_weights(const ModelConfig& c, const TensorSource& source) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t inner = c.intermediate_size;
  const std::int64_t q_rows = c.n_head * c.head_dim;
  const std::int64_t kv_rows = c.n_kv_head * c.head_dim;
  const bool gguf = source.is_gguf();
  const auto name = [gguf](std::int64_t l, const char* hf, const char* gg) {
    return gguf ? "blk." + std::to_string(l) + "." + gg : "model.layers." + std::to_string(l) + "." + hf;
  };
  // GGUF Q/K (weights and biases) carry llama.cpp's row permutation.
  const auto q_or_k = [&](const std::string& tensor_name, std::vector<std::int64_t> shape,
                          std::int64_t heads) {
    torch::Tensor t = load_checked(source, tensor_name, std::move(shape));
    return gguf ? undo_gguf_rotary_permutation(t, heads, c.head_dim) : t;
  };
  ModelWeights w;
  w.token_embedding =
      load_checked(source, gguf ? "token_embd.weight" : "model.embed_tokens.weight", {c.vocab_size, hidden});
  w.layers.resize(static_cast<std::size_t>(c.n_layer));
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.norm1_weight = load_checked(source, name(l, "input_layernorm.weight", "attn_norm.weight"), {hidden});
    lw.norm2_weight =
        load_checked(source, name(l, "post_attention_layernorm.weight", "ffn_norm.weight"), {hidden});
    lw.qkv_weight = torch::cat(
        {q_or_k(name(l, "self_attn.q_proj.weight", "attn_q.weight"), {q_rows, hidden}, c.n_head),
         q_or_k(name(l, "self_attn.k_proj.weight", "attn_k.weight"), {kv_rows, hidden}, c.n_kv_head),
         load_checked(source, name(l, "self_attn.v_proj.weight", "attn_v.weight"), {kv_rows, hidden})});
    lw.out_weight =
        load_checked(source, name(l, "self_attn.o_proj.weight", "attn_output.weight"), {hidden, q_rows});
    if (c.attention_bias) {
      lw.qkv_bias =
          torch::cat({q_or_k(name(l, "self_attn.q_proj.bias", "attn_q.bias"), {q_rows}, c.n_head),
                      q_or_k(name(l, "self_attn.k_proj.bias", "attn_k.bias"), {kv_rows}, c.n_kv_head),
                      load_checked(source, name(l, "self_attn.v_proj.bias", "attn_v.bias"), {kv_rows})});
      lw.out_bias = load_checked(source, name(l, "self_attn.o_proj.bias", "attn_output.bias"), {hidden});
    }
    lw.gate_up_weight =
        torch::cat({load_checked(source, name(l, "mlp.gate_proj.weight", "ffn_gate.weight"), {inner, hidden}),
                    load_checked(source, name(l, "mlp.up_proj.weight", "ffn_up.weight"), {inner, hidden})});
    lw.down_weight =
        load_checked(source, name(l, "mlp.down_proj.weight", "ffn_down.weight"), {hidden, inner});
    if (c.mlp_bias) {
      lw.up_bias = torch::cat({load_checked(source, name(l, "mlp.gate_proj.bias", "ffn_gate.bias"), {inner}),
                               load_checked(source, name(l, "mlp.up_proj.bias", "ffn_up.bias"), {inner})});
      lw.down_bias = load_checked(source, name(l, "mlp.down_proj.bias", "ffn_down.bias"), {hidden});
    }
  }
  w.final_norm_weight = load_checked(source, gguf ? "output_norm.weight" : "model.norm.weight", {hidden});
  const char* head = gguf ? "output.weight" : "lm_head.weight";
  w.lm_head_weight =
      c.tie_word_embeddings ? w.token_embedding : load_checked(source, head, {c.vocab_size, hidden});
  return w;
}

torch::Tensor llama_block(const ModelConfig& config, const LayerWeights& w, const torch::Tensor& x,
                          const AttentionInputs& inputs, LayerCache cache) {
  const double eps = config.norm_eps;
  const torch::Tensor qkv = project(rms_norm(x, w.norm1_weight, eps), w.qkv_weight, w.qkv_bias);
  const torch::Tensor h = x + project(self_attention(config, qkv, inputs, cache), w.out_weight, w.out_bias);
  // gate and up in one GEMM (B, T, 2 * inner); mlp_bias is stored with them in up_bias
  const torch::Tensor gate_up = project(rms_norm(h, w.norm2_weight, eps), w.gate_up_weight, w.up_bias);
  const std::int64_t inner = config.intermediate_size;
  const torch::Tensor gated = torch::silu(gate_up.narrow(-1, 0, inner)) * gate_up.narrow(-1, inner, inner);
  return h + project(gated, w.down_weight, w.down_bias);
}

}  // namespace remedi::lm
