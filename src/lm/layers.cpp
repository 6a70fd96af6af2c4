#include "lm/layers.h"

#include <torch/torch.h>

#include <cmath>

namespace remedi::lm {

namespace F = torch::nn::functional;

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps) {
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  // float32: libtorch's fused kernel, one dispatch instead of seven and the same floats (it is
  // x * rsqrt(mean(x^2) + eps) * w in float32 too). Other dtypes round twice, as HF does: below.
  if (x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32) {
    return torch::rms_norm(x, {x.size(-1)}, weight, eps);
  }
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

torch::Tensor norm(Norm kind, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                   double eps) {
  return kind == Norm::Rms ? rms_norm(x, weight, eps) : layer_norm(x, weight, bias, eps);
}

torch::Tensor activation(const torch::Tensor& x, Activation kind) {
  switch (kind) {
    case Activation::GeluNew:  // tanh approximation (HF "gelu_new")
      return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
    case Activation::GeluExact:
      return torch::gelu(x);
    case Activation::Silu:
      return torch::silu(x);
  }
  return x;
}

void rotary_tables(const ModelConfig& config, const torch::Tensor& positions, AttentionInputs& inputs) {
  const std::int64_t rotary_dim = config.rotary_dim;
  auto float_options = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  // inv_freq[i] = theta^(-2i / rotary_dim), i < rotary_dim / 2
  const torch::Tensor exponents =
      torch::arange(0, rotary_dim, 2, float_options) / static_cast<double>(rotary_dim);
  const torch::Tensor inv_freq = torch::pow(config.rope_theta, -exponents);
  // angles (B, T, rotary_dim / 2)
  const torch::Tensor angles = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  torch::Tensor cos = angles.cos();
  torch::Tensor sin = angles.sin();
  if (config.rotary_interleaved) {  // GPT-J: each angle covers an adjacent pair (x0, x1)
    cos = cos.repeat_interleave(2, -1);
    sin = sin.repeat_interleave(2, -1);
  } else {  // NeoX / Llama: angle i covers (x_i, x_{i + rotary_dim/2})
    cos = torch::cat({cos, cos}, -1);
    sin = torch::cat({sin, sin}, -1);
  }
  inputs.cos = cos.unsqueeze(1);  // (B, 1, T, rotary_dim)
  inputs.sin = sin.unsqueeze(1);
}

namespace {

// x (B, heads, T, head_dim): rotate the first rotary_dim features of each head.
torch::Tensor apply_rotary(const ModelConfig& config, const torch::Tensor& x, const AttentionInputs& inputs) {
  const std::int64_t rotary_dim = config.rotary_dim;
  const torch::Tensor rotated_part = x.narrow(-1, 0, rotary_dim).to(torch::kFloat32);
  torch::Tensor partner;  // the "rotate by 90 degrees" companion of each feature
  if (config.rotary_interleaved) {
    // (x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...)
    const torch::Tensor pairs = rotated_part.unflatten(-1, {rotary_dim / 2, 2});
    partner = torch::stack({-pairs.select(-1, 1), pairs.select(-1, 0)}, -1).flatten(-2);
  } else {
    // (x_first_half, x_second_half) -> (-x_second_half, x_first_half)
    const std::int64_t half = rotary_dim / 2;
    partner = torch::cat({-rotated_part.narrow(-1, half, half), rotated_part.narrow(-1, 0, half)}, -1);
  }
  const torch::Tensor result = (rotated_part * inputs.cos + partner * inputs.sin).to(x.scalar_type());
  if (rotary_dim == x.size(-1)) return result;
  return torch::cat({result, x.narrow(-1, rotary_dim, x.size(-1) - rotary_dim)}, -1);
}

}  // namespace

torch::Tensor unpad(const torch::Tensor& x, const AttentionInputs& inputs) {
  return x.reshape({inputs.batch * inputs.length, x.size(-1)})
      .index_select(0, inputs.real_tokens)
      .unsqueeze(0);
}

torch::Tensor pad(const torch::Tensor& x, const AttentionInputs& inputs) {
  const std::int64_t width = x.size(-1);
  return torch::zeros({inputs.batch * inputs.length, width}, x.options())
      .index_copy(0, inputs.real_tokens, x.reshape({-1, width}))
      .view({inputs.batch, inputs.length, width});
}

torch::Tensor self_attention(const ModelConfig& config, const torch::Tensor& packed_qkv,
                             const AttentionInputs& inputs, LayerCache cache) {
  const bool unpadded = inputs.real_tokens.defined();
  const torch::Tensor qkv = unpadded ? pad(packed_qkv, inputs) : packed_qkv;
  const std::int64_t batch = qkv.size(0);
  const std::int64_t length = qkv.size(1);
  const std::int64_t head_dim = config.head_dim;
  const std::int64_t n_head = config.n_head;
  const std::int64_t n_kv = config.n_kv_head;
  // (B, T, heads, head_dim) -> (B, heads, T, head_dim); q and k rotate together, as one tensor of
  // n_head + n_kv heads (half the dispatches of rotating each).
  torch::Tensor qk = qkv.narrow(-1, 0, (n_head + n_kv) * head_dim)
                         .view({batch, length, n_head + n_kv, head_dim})
                         .transpose(1, 2);
  if (config.rotary_dim > 0) qk = apply_rotary(config, qk, inputs);
  torch::Tensor q = qk.narrow(1, 0, n_head);
  torch::Tensor k = qk.narrow(1, n_head, n_kv);
  torch::Tensor v = qkv.narrow(-1, (n_head + n_kv) * head_dim, n_kv * head_dim)
                        .view({batch, length, n_kv, head_dim})
                        .transpose(1, 2);
  if (cache.keys != nullptr) {
    const std::int64_t needed = cache.past + length;
    if (!cache.keys->defined() || cache.keys->size(2) < needed) {
      // Room for this call and as many tokens again (at least 64): a generation step then writes
      // one column in place instead of copying the whole cache, per layer and step.
      const std::int64_t capacity = std::max<std::int64_t>(2 * needed, needed + 64);
      for (torch::Tensor* slot : {cache.keys, cache.values}) {
        torch::Tensor grown = torch::empty({batch, n_kv, capacity, head_dim}, k.options());
        if (cache.past > 0) grown.narrow(2, 0, cache.past).copy_(slot->narrow(2, 0, cache.past));
        *slot = grown;
      }
    }
    cache.keys->narrow(2, cache.past, length).copy_(k);
    cache.values->narrow(2, cache.past, length).copy_(v);
    k = cache.keys->narrow(2, 0, needed);
    v = cache.values->narrow(2, 0, needed);
  }
  // libtorch's fused attention (its CPU flash kernel; grouped-query heads share their kv head without
  // copies, as HF's repeat_kv orders them: query head h reads kv head h / (n_head / n_kv)). Softmax
  // accumulates in float32 whatever the compute dtype; a query row with no visible key (padding) comes
  // out as zeros. One dispatch instead of the ~15 of the explicit product, mask and softmax.
  const torch::Tensor out = at::scaled_dot_product_attention(q, k, v, inputs.allowed, /*dropout_p=*/0.0,
                                                             /*is_causal=*/false, /*scale=*/std::nullopt,
                                                             /*enable_gqa=*/n_kv != n_head)
                                .transpose(1, 2)
                                .reshape({batch, length, n_head * head_dim});  // (B, T, heads * head_dim)
  return unpadded ? unpad(out, inputs) : out;
}

torch::Tensor transformer_block(const BlockRecipe& recipe, const ModelConfig& config, const LayerWeights& w,
                                const torch::Tensor& x, const AttentionInputs& inputs, LayerCache cache) {
  const auto normed = [&](const torch::Tensor& input, const torch::Tensor& weight,
                          const torch::Tensor& bias) {
    return norm(recipe.norm, input, weight, bias, config.norm_eps);
  };
  const auto mlp = [&](const torch::Tensor& input) {
    if (recipe.mlp == Mlp::Plain) {
      const torch::Tensor up = project(input, w.up_weight, w.up_bias);
      return project(activation(up, config.activation), w.down_weight, w.down_bias);
    }
    // gate and up in one GEMM (B, T, 2 * inner)
    const torch::Tensor gate_up = project(input, w.gate_up_weight, w.gate_up_bias);
    const std::int64_t inner = config.intermediate_size;
    const torch::Tensor gated =
        activation(gate_up.narrow(-1, 0, inner), config.activation) * gate_up.narrow(-1, inner, inner);
    return project(gated, w.down_weight, w.down_bias);
  };
  const torch::Tensor attention_input = normed(x, w.norm1_weight, w.norm1_bias);  // (B, T, H)
  const torch::Tensor qkv = project(attention_input, w.qkv_weight, w.qkv_bias);
  const torch::Tensor attention =
      project(self_attention(config, qkv, inputs, cache), w.out_weight, w.out_bias);
  if (config.use_parallel_residual) {
    // Both branches read x: the MLP through its own norm (NeoX) or through the attention's (GPT-J).
    const torch::Tensor mlp_input =
        w.norm2_weight.defined() ? normed(x, w.norm2_weight, w.norm2_bias) : attention_input;
    return x + attention + mlp(mlp_input);
  }
  const torch::Tensor h = x + attention;
  return h + mlp(normed(h, w.norm2_weight, w.norm2_bias));
}

}  // namespace remedi::lm
