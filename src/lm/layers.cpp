#include "lm/layers.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "lm/rope_scaling.h"

namespace remedi::lm {

namespace F = torch::nn::functional;

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps) {
  return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool one_plus) {
  // float32: libtorch's fused kernel, one dispatch instead of seven and the same floats (it is
  // x * rsqrt(mean(x^2) + eps) * w in float32 too). Other dtypes round twice, as HF does: below.
  if (!one_plus && x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32) {
    return torch::rms_norm(x, {x.size(-1)}, weight, eps);
  }
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  if (one_plus) return (normed * (1.0 + weight.to(torch::kFloat32))).to(x.scalar_type());
  return weight * normed.to(x.scalar_type());
}

torch::Tensor norm(Norm kind, const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                   double eps) {
  switch (kind) {
    case Norm::Layer:
      return layer_norm(x, weight, bias, eps);
    case Norm::Rms:
      return rms_norm(x, weight, eps);
    case Norm::RmsOnePlus:
      return rms_norm(x, weight, eps, /*one_plus=*/true);
  }
  return x;
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

std::pair<torch::Tensor, torch::Tensor> rotary_tables(const ModelConfig& config, double theta,
                                                      const torch::Tensor& positions, bool scaled) {
  const std::int64_t rotary_dim = config.rotary_dim;
  auto float_options = torch::TensorOptions().dtype(torch::kFloat32).device(positions.device());
  // The forward's length, for the scalings that choose by it as transformers does per forward
  // (dynamic, longrope; a KV cache keeps the keys rotated before). One device sync, only for those.
  const std::int64_t length = scaled && rotary_depends_on_length(config) && positions.numel() > 0
                                  ? positions.max().item<std::int64_t>() + 1
                                  : 0;
  const RotaryFrequencies frequencies = rotary_frequencies(config, theta, length, scaled);
  // inv_freq[i] = theta^(-2i / rotary_dim) / divisor[i], i < rotary_dim / 2
  const torch::Tensor exponents =
      torch::arange(0, rotary_dim, 2, float_options) / static_cast<double>(rotary_dim);
  torch::Tensor inv_freq;
  if (frequencies.divisors.empty()) {
    inv_freq = torch::pow(frequencies.theta, -exponents);
  } else {
    const torch::Tensor divisors = torch::tensor(frequencies.divisors, float_options);
    inv_freq = 1.0 / (divisors * torch::pow(frequencies.theta, exponents));
  }
  const double scale = frequencies.attention_scale;
  // angles (B, T, rotary_dim / 2)
  const torch::Tensor angles = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  torch::Tensor cos = angles.cos();
  torch::Tensor sin = angles.sin();
  if (scale != 1.0) {
    cos = cos * scale;
    sin = sin * scale;
  }
  if (config.rotary_interleaved) {  // GPT-J: each angle covers an adjacent pair (x0, x1)
    cos = cos.repeat_interleave(2, -1);
    sin = sin.repeat_interleave(2, -1);
  } else {  // NeoX / Llama: angle i covers (x_i, x_{i + rotary_dim/2})
    cos = torch::cat({cos, cos}, -1);
    sin = torch::cat({sin, sin}, -1);
  }
  return {cos.unsqueeze(1), sin.unsqueeze(1)};  // (B, 1, T, rotary_dim)
}

namespace {

// x (B, heads, T, head_dim): rotate the first rotary_dim features of each head by the tables
// cos, sin (B, 1, T, rotary_dim).
torch::Tensor apply_rotary(const ModelConfig& config, const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin) {
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
  const torch::Tensor result = (rotated_part * cos + partner * sin).to(x.scalar_type());
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
                             const AttentionInputs& inputs, const LayerCache& cache,
                             const AttentionLayer& layer) {
  const bool unpadded = inputs.real_tokens.defined();
  const torch::Tensor qkv = unpadded ? pad(packed_qkv, inputs) : packed_qkv;
  const std::int64_t batch = qkv.size(0);
  const std::int64_t length = qkv.size(1);
  const std::int64_t head_dim = config.head_dim;
  const std::int64_t n_head = config.n_head;
  const std::int64_t n_kv = config.n_kv_head;
  const bool local = layer.sliding && inputs.cos_local.defined();
  const torch::Tensor& cos = local ? inputs.cos_local : inputs.cos;
  const torch::Tensor& sin = local ? inputs.sin_local : inputs.sin;
  torch::Tensor q;  // (B, heads, T, head_dim)
  torch::Tensor k;
  if (!layer.q_norm.defined() && !layer.k_norm.defined()) {
    // q and k rotate together, as one tensor of n_head + n_kv heads (half the dispatches).
    torch::Tensor qk = qkv.narrow(-1, 0, (n_head + n_kv) * head_dim)
                           .view({batch, length, n_head + n_kv, head_dim})
                           .transpose(1, 2);
    if (config.rotary_dim > 0) qk = apply_rotary(config, qk, cos, sin);
    q = qk.narrow(1, 0, n_head);
    k = qk.narrow(1, n_head, n_kv);
  } else {
    // The q and k norms read the projection before it splits into heads: per head when their weight
    // has head_dim entries (Qwen3, Gemma 3), else over the whole projection (OLMo 2).
    const auto normed = [&](torch::Tensor t, const torch::Tensor& weight, std::int64_t heads) {
      if (!weight.defined()) return t.view({batch, length, heads, head_dim});
      if (weight.size(0) != head_dim) t = norm(layer.norm, t, weight, {}, config.norm_eps);
      t = t.view({batch, length, heads, head_dim});
      return weight.size(0) == head_dim ? norm(layer.norm, t, weight, {}, config.norm_eps) : t;
    };
    q = normed(qkv.narrow(-1, 0, n_head * head_dim), layer.q_norm, n_head).transpose(1, 2);
    k = normed(qkv.narrow(-1, n_head * head_dim, n_kv * head_dim), layer.k_norm, n_kv).transpose(1, 2);
    if (config.rotary_dim > 0) {
      q = apply_rotary(config, q, cos, sin);
      k = apply_rotary(config, k, cos, sin);
    }
  }
  torch::Tensor v = qkv.narrow(-1, (n_head + n_kv) * head_dim, n_kv * head_dim)
                        .view({batch, length, n_kv, head_dim})
                        .transpose(1, 2);
  if (cache.given_keys != nullptr) {  // the tokens that do not run: their keys and values as given
    // Given ones of another shape or layout (kept ones hold only the first columns, compactly) are
    // first copied into k's and v's: `where` lays its result out as its inputs, and the products after
    // must see the same strides to give the same bits either way. The columns after the given ones
    // are never selected.
    const auto as_laid_out = [](const torch::Tensor& given, const torch::Tensor& like) {
      if (given.sizes() == like.sizes() && given.strides() == like.strides()) return given;
      torch::NoGradGuard no_grad;
      torch::Tensor laid_out = torch::empty_like(like);
      laid_out.narrow(2, 0, given.size(2)).copy_(given);
      return laid_out;
    };
    k = torch::where(inputs.given, as_laid_out(*cache.given_keys, k), k);
    v = torch::where(inputs.given, as_laid_out(*cache.given_values, v), v);
  }
  if (cache.captured_keys != nullptr) {
    *cache.captured_keys = k;
    *cache.captured_values = v;
  }
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
  const double scale_dim = config.query_pre_attn_scalar > 0 ? config.query_pre_attn_scalar : double(head_dim);
  const torch::Tensor& allowed = layer.sliding ? inputs.allowed_local : inputs.allowed;
  torch::Tensor out;  // (B, heads, T, head_dim)
  // The fused kernel's backward is not bit-reproducible on CPU (its sums depend on how threads are
  // scheduled: two identical training runs on a loaded machine differed by 2.4e-5), so whatever needs
  // gradients takes the explicit path, whose every sum has a fixed order.
  const bool needs_grad =
      torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (config.attention_softcap <= 0 && !needs_grad) {
    // libtorch's fused attention (its CPU flash kernel; grouped-query heads share their kv head
    // without copies, as HF's repeat_kv orders them: query head h reads kv head h / (n_head / n_kv)).
    // Softmax accumulates in float32 whatever the compute dtype; a query row with no visible key
    // (padding) comes out as zeros. One dispatch instead of the ~15 of the explicit path below.
    out =
        at::scaled_dot_product_attention(q, k, v, allowed, /*dropout_p=*/0.0, /*is_causal=*/false,
                                         /*scale=*/1.0 / std::sqrt(scale_dim), /*enable_gqa=*/n_kv != n_head);
  } else {
    // Soft-capped scores (Gemma 2), which the fused kernel cannot apply, and training: the explicit
    // product.
    const std::int64_t key_length = k.size(2);
    // Grouped-query attention without copying keys and values per query head: the `group` query
    // heads that share a kv head (heads kv * group + g) are stacked along the query axis,
    // (B, n_kv, group * T, head_dim), and meet that head's keys in one product.
    const std::int64_t group = n_head / n_kv;
    const torch::Tensor grouped_q = q.reshape({batch, n_kv, group * length, head_dim});
    // Scores and softmax in float32 whatever the compute dtype; masked keys get -inf-like weight.
    torch::Tensor scores = torch::matmul(grouped_q, k.transpose(-1, -2))
                               .view({batch, n_head, length, key_length})
                               .to(torch::kFloat32) /
                           std::sqrt(scale_dim);
    if (config.attention_softcap > 0)
      scores = torch::tanh(scores / config.attention_softcap) * config.attention_softcap;
    scores = scores.masked_fill(allowed.logical_not(), -1e30);
    const torch::Tensor probs =
        torch::softmax(scores, -1).to(v.scalar_type()).view({batch, n_kv, group * length, key_length});
    out = torch::matmul(probs, v).view({batch, n_head, length, head_dim});
  }
  // (B, heads, T, head_dim) -> (B, T, heads * head_dim)
  out = out.transpose(1, 2).reshape({batch, length, n_head * head_dim});
  return unpadded ? unpad(out, inputs) : out;
}

torch::Tensor transformer_block(const BlockRecipe& recipe, const ModelConfig& config, std::int64_t layer,
                                const LayerWeights& w, const torch::Tensor& x, const AttentionInputs& inputs,
                                const LayerCache& cache) {
  // A norm whose weight the layer lacks is no norm (OLMo 2 has no pre-norms; only OLMo 2 and Gemma
  // have post-norms).
  const auto normed = [&](const torch::Tensor& input, const torch::Tensor& weight,
                          const torch::Tensor& bias) {
    return weight.defined() ? norm(recipe.norm, input, weight, bias, config.norm_eps) : input;
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
  const AttentionLayer attention_layer{.norm = recipe.norm,
                                       .q_norm = w.q_norm_weight,
                                       .k_norm = w.k_norm_weight,
                                       .sliding = is_sliding_layer(config, layer)};
  const torch::Tensor attention =
      normed(project(self_attention(config, qkv, inputs, cache, attention_layer), w.out_weight, w.out_bias),
             w.post_attention_norm_weight, {});
  if (config.use_parallel_residual) {
    // Both branches read x: the MLP through its own norm (NeoX) or through the attention's (GPT-J).
    const torch::Tensor mlp_input =
        w.norm2_weight.defined() ? normed(x, w.norm2_weight, w.norm2_bias) : attention_input;
    return x + attention + mlp(mlp_input);
  }
  const torch::Tensor h = x + attention;
  return h + normed(mlp(normed(h, w.norm2_weight, w.norm2_bias)), w.post_mlp_norm_weight, {});
}

}  // namespace remedi::lm
