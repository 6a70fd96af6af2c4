#include "lm/model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

#include "io/gguf.h"
#include "lm/family.h"
#include "lm/layers.h"
#include "lm/tensor_sources.h"
#include "lm/threads.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

// A source whose tensors arrive already on the target device and in the target dtype, one at a time:
// loading a model in bf16, or onto a GPU, never holds a float32 copy of the whole model on the host
// (only the tensor being converted).
class ConvertingSource final : public TensorSource {
 public:
  ConvertingSource(const TensorSource& inner, const LoadOptions& options)
      : inner_(inner), options_(options) {}
  bool is_gguf() const override { return inner_.is_gguf(); }
  bool has(const std::string& name) const override { return inner_.has(name); }
  torch::Tensor get(const std::string& name) const override {
    return inner_.get(name).to(options_.device, options_.dtype).contiguous();
  }
  std::string path() const override { return inner_.path(); }

 private:
  const TensorSource& inner_;
  LoadOptions options_;
};

// Moves every weight to the requested device and dtype, keeping a tied head tied (one tensor).
void convert_weights(ModelWeights& w, const LoadOptions& options) {
  const bool tied = w.lm_head_weight.defined() && w.lm_head_weight.is_same(w.token_embedding);
  const auto convert = [&](torch::Tensor& t) {
    if (t.defined()) t = t.to(options.device, options.dtype).contiguous();
  };
  convert(w.token_embedding);
  convert(w.position_embedding);
  for (LayerWeights& l : w.layers) {
    for (torch::Tensor* t : l.all()) convert(*t);
  }
  convert(w.final_norm_weight);
  convert(w.final_norm_bias);
  if (tied) {
    w.lm_head_weight = w.token_embedding;
  } else {
    convert(w.lm_head_weight);
  }
  convert(w.lm_head_bias);
}

// Every projection to blocks of `format`; the head always to Q8_0 (as GGUF files hold it). A tied head
// becomes a quantized copy: the token embedding stays float32 for the lookup (and the fingerprint).
void quantize_weights(ModelWeights& w, QuantFormat format, const std::string& path) {
  const auto convert = [&](torch::Tensor& t, const std::string& what, QuantFormat to) {
    if (!t.defined()) return;
    if (t.size(1) % kQuantBlock != 0) {
      throw Error(path, "--dtype",
                  quant_format_name(format) + " needs matrices whose input size is a multiple of 32; " +
                      what + " has " + std::to_string(t.size(1)));
    }
    t = quantize_weight(t, to);
  };
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    LayerWeights& layer = w.layers[l];
    const std::string where = "layer " + std::to_string(l) + "'s ";
    convert(layer.qkv_weight, where + "attention input", format);
    convert(layer.out_weight, where + "attention output", format);
    convert(layer.up_weight, where + "MLP input", format);
    convert(layer.gate_up_weight, where + "MLP input", format);
    convert(layer.down_weight, where + "MLP output", format);
  }
  convert(w.lm_head_weight, "the head", QuantFormat::Q8_0);
}

bool is_gguf_path(const std::string& path) {
  return std::filesystem::path(path).extension() == ".gguf" && !std::filesystem::is_directory(path);
}

}  // namespace

// Block-output rewrite of METHOD §6.3, differentiable in the directions:
// h <- h + in_range * ((beta - 1) h + alpha d)
torch::Tensor apply_intervention(const torch::Tensor& hidden, const Intervention& edit) {
  const std::int64_t batch = hidden.size(0);
  const std::int64_t length = hidden.size(1);
  if (edit.directions.size(0) != batch || edit.ranges.size(0) != batch) {
    throw Error("<intervention>", "directions", "batch size does not match the input batch");
  }
  const torch::Tensor ranges = edit.ranges.to(hidden.device());
  const torch::Tensor positions =
      torch::arange(length, torch::TensorOptions().device(hidden.device())).unsqueeze(0);
  const torch::Tensor in_range = (positions >= ranges.select(1, 0).unsqueeze(1)) &
                                 (positions < ranges.select(1, 1).unsqueeze(1));  // (B, T)
  const torch::Tensor weight = in_range.unsqueeze(-1).to(hidden.scalar_type());   // (B, T, 1)
  const torch::Tensor direction =
      edit.directions.to(hidden.device(), hidden.scalar_type()).unsqueeze(1);  // (B, 1, H)
  torch::Tensor update = edit.alpha * direction;
  if (edit.beta != 1.0) update = update + (edit.beta - 1.0) * hidden;
  return hidden + weight * update;
}

std::unique_ptr<CausalLM> CausalLM::load(const std::string& path, const LoadOptions& options) {
  if (options.dtype == torch::kFloat16 && options.device.is_cpu()) {
    throw Error("<argument>", "--dtype",
                "fp16 needs --device cuda (libtorch's CPU kernels lack half matmul); use bf16");
  }
  if (options.quantized && (!options.device.is_cpu() || options.dtype != torch::kFloat32)) {
    throw Error("<argument>", "--dtype",
                quant_format_name(*options.quantized) + " weights run on the CPU with float32 activations");
  }
  torch::NoGradGuard no_grad;
  ModelConfig config;
  ModelWeights weights;
  if (is_gguf_path(path)) {
    const io::GgufFile gguf = io::GgufFile::open(path);
    config = config_from_gguf(gguf);
    weights = load_weights(family_description(config.family), config,
                           ConvertingSource(*gguf_source(gguf), options));
  } else {
    const std::filesystem::path folder = std::filesystem::is_directory(path)
                                             ? std::filesystem::path(path)
                                             : std::filesystem::path(path).parent_path();
    config = config_from_hf_json((folder / "config.json").string());
    weights = load_weights(family_description(config.family), config,
                           ConvertingSource(*open_safetensors_source(folder.string()), options));
  }
  convert_weights(weights, options);  // what a family computed from the loaded tensors, if anything
  if (options.quantized) quantize_weights(weights, *options.quantized, path);
  return std::make_unique<CausalLM>(std::move(config), std::move(weights), options, path);
}

CausalLM::CausalLM(ModelConfig config, ModelWeights weights, LoadOptions options, std::string path)
    : config_(std::move(config)),
      family_(&family_description(config_.family)),
      weights_(std::move(weights)),
      options_(options),
      path_(std::move(path)) {}

ForwardResult CausalLM::forward(const Batch& batch, const ForwardOptions& options) const {
  const ModelConfig& c = config_;
  const torch::Device device = options_.device;
  const torch::Tensor ids = batch.input_ids.to(device);
  const std::int64_t batch_size = ids.size(0);
  const std::int64_t length = ids.size(1);
  const std::int64_t last_layer = options.stop_after_layer < 0 ? c.n_layer - 1 : options.stop_after_layer;
  // Starting one past the last block (with its output as start_hidden) runs only the norm and head.
  const std::int64_t latest_start = options.start_hidden.defined() ? last_layer + 1 : last_layer;
  if (options.start_layer < 0 || options.start_layer > latest_start || last_layer >= c.n_layer) {
    throw Error("<forward>", "layers",
                "start " + std::to_string(options.start_layer) + " / stop " + std::to_string(last_layer) +
                    " outside 0.." + std::to_string(c.n_layer - 1));
  }
  if (options.start_layer > 0 && options.cache != nullptr) {
    throw Error("<forward>", "start_layer", "cannot start mid-model with a KV cache");
  }
  if (options.unpadded && options.cache != nullptr) {
    throw Error("<forward>", "unpadded", "not available with a KV cache");
  }
  if (options.run_tokens.defined() && !options.unpadded) {
    throw Error("<forward>", "run_tokens", "needs an unpadded forward");
  }
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const torch::Tensor mask = batch.attention_mask.defined()
                                 ? batch.attention_mask.to(device, torch::kInt64)
                                 : torch::ones({batch_size, length}, index_options);
  KVCache* cache = options.cache;
  const std::int64_t past = cache != nullptr ? cache->length() : 0;

  // Positions count real tokens only (left padding shifts nothing); pads get position 0.
  torch::Tensor positions = mask.cumsum(1) - 1;  // (B, T)
  torch::Tensor full_mask = mask;                // (B, past + T)
  if (cache != nullptr && past > 0) {
    positions = positions + cache->next_position.unsqueeze(1);
    full_mask = torch::cat({cache->attention_mask, mask}, 1);
  }
  positions = positions.clamp_min(0);

  AttentionInputs inputs;
  const torch::Tensor query_at = torch::arange(past, past + length, index_options).unsqueeze(1);  // (T, 1)
  const torch::Tensor key_at = torch::arange(past + length, index_options).unsqueeze(0);  // (1, past + T)
  inputs.allowed =
      (key_at <= query_at).unsqueeze(0).unsqueeze(0) & full_mask.to(torch::kBool).unsqueeze(1).unsqueeze(1);
  if (c.sliding_window > 0) {
    // Columns rather than position ids measure the distance, as in transformers: the same for the
    // contiguous real tokens of a padded row.
    inputs.allowed_local = inputs.allowed & (query_at - key_at < c.sliding_window).unsqueeze(0).unsqueeze(0);
  }
  if (c.rotary_dim > 0) {
    std::tie(inputs.cos, inputs.sin) = rotary_tables(c, c.rope_theta, positions);
    // Gemma 3's sliding layers: their own base, never scaled.
    if (c.sliding_window > 0 && c.rope_local_theta > 0 &&
        (c.rope_local_theta != c.rope_theta || c.rope_scaling != RopeScaling::None)) {
      std::tie(inputs.cos_local, inputs.sin_local) =
          rotary_tables(c, c.rope_local_theta, positions, /*scaled=*/false);
    }
  }

  torch::Tensor x;  // (B, T, H)
  if (options.start_layer > 0) {
    x = options.start_hidden.to(device, options_.dtype);
  } else {
    // A tokenizer that is not this model's, or a prompt run past the context: a named error rather
    // than libtorch's "index out of range" from the lookups below.
    if (ids.numel() > 0) {
      const auto [min_id, max_id] = torch::aminmax(ids);  // one pass over the ids
      const std::int64_t lowest = min_id.item<std::int64_t>();
      const std::int64_t highest = max_id.item<std::int64_t>();
      const std::int64_t rows = weights_.token_embedding.size(0);
      if (lowest < 0 || highest >= rows) {
        throw Error(path_, "input_ids",
                    "token id " + std::to_string(lowest < 0 ? lowest : highest) + " is outside the model's " +
                        std::to_string(rows) + " embeddings (is the tokenizer this model's?)");
      }
      if (weights_.position_embedding.defined()) {
        const std::int64_t last = positions.max().item<std::int64_t>();
        if (last >= weights_.position_embedding.size(0)) {
          throw Error(path_, "positions",
                      "position " + std::to_string(last) + " is past the model's context of " +
                          std::to_string(weights_.position_embedding.size(0)) + " tokens");
        }
      }
    }
    x = weights_.token_embedding.index_select(0, ids.reshape(-1)).view({batch_size, length, c.hidden_size});
    if (c.scale_embedding) {
      // The factor rounded to the embedding's dtype first, as transformers' Gemma does.
      x = x * torch::scalar_tensor(std::sqrt(static_cast<double>(c.hidden_size)), x.options());
    }
    if (weights_.position_embedding.defined()) {
      x = x + weights_.position_embedding.index_select(0, positions.reshape(-1))
                  .view({batch_size, length, c.hidden_size});
    }
  }
  if (options.unpadded) {
    torch::Tensor running = mask.to(torch::kBool);  // (B, T)
    if (options.run_tokens.defined()) {
      const torch::Tensor run = options.run_tokens.to(device, torch::kBool);
      if (options.given_keys_values != nullptr)
        inputs.given = (running & run.logical_not()).view({batch_size, 1, length, 1});
      running = running & run;
    }
    inputs.real_tokens = running.reshape(-1).nonzero().squeeze(1);
    inputs.batch = batch_size;
    inputs.length = length;
    x = unpad(x, inputs);  // (1, N, H)
  }
  // Block outputs in the caller's padded layout.
  const auto padded = [&](const torch::Tensor& h) { return options.unpadded ? pad(h, inputs) : h; };
  if (cache != nullptr && cache->keys.empty()) {
    cache->keys.resize(static_cast<std::size_t>(c.n_layer));
    cache->values.resize(static_cast<std::size_t>(c.n_layer));
  }
  const LayerKeysValues* given = inputs.given.defined() ? options.given_keys_values : nullptr;
  if (given != nullptr) {
    for (std::int64_t l = options.start_layer; l <= last_layer; ++l) {
      const auto at = static_cast<std::size_t>(l);
      if (at >= given->keys.size() || at >= given->values.size() || !given->keys[at].defined() ||
          !given->values[at].defined()) {
        throw Error("<forward>", "given_keys_values", "no keys and values for layer " + std::to_string(l));
      }
    }
  }
  LayerKeysValues* captured = options.captured_keys_values;
  if (captured != nullptr) {
    captured->keys.assign(static_cast<std::size_t>(c.n_layer), torch::Tensor());
    captured->values.assign(static_cast<std::size_t>(c.n_layer), torch::Tensor());
  }

  ForwardResult result;
  for (std::int64_t l = options.start_layer; l <= last_layer; ++l) {
    LayerCache layer_cache;
    if (cache != nullptr) {
      layer_cache.keys = &cache->keys[static_cast<std::size_t>(l)];
      layer_cache.values = &cache->values[static_cast<std::size_t>(l)];
      layer_cache.past = past;
    }
    const auto at = static_cast<std::size_t>(l);
    if (given != nullptr) {
      layer_cache.given_keys = &given->keys[at];
      layer_cache.given_values = &given->values[at];
    }
    if (captured != nullptr) {
      layer_cache.captured_keys = &captured->keys[at];
      layer_cache.captured_values = &captured->values[at];
    }
    x = transformer_block(family_->block, c, l, weights_.layers[static_cast<std::size_t>(l)], x, inputs,
                          layer_cache);
    for (const Intervention& edit : options.interventions) {
      if (edit.layer != l) continue;
      x = options.unpadded ? unpad(apply_intervention(pad(x, inputs), edit), inputs)
                           : apply_intervention(x, edit);
    }
    if (std::find(options.capture_layers.begin(), options.capture_layers.end(), l) !=
        options.capture_layers.end()) {
      result.hidden[l] = padded(x);
    }
  }
  x = padded(x);
  result.last_hidden = x;
  if (cache != nullptr) {
    cache->attention_mask = full_mask;
    cache->next_position = full_mask.sum(1);
  }

  if (last_layer != c.n_layer - 1 || options.logits == LogitsAt::None) return result;
  torch::Tensor selected;  // hidden states whose logits are wanted
  switch (options.logits) {
    case LogitsAt::All:
      selected = x;
      break;
    case LogitsAt::Last: {
      // last column holding a real token: max over t of (t + 1) * mask[t], minus one
      const torch::Tensor last = (mask * torch::arange(1, length + 1, index_options)).argmax(1);  // (B)
      selected = x.gather(1, last.view({batch_size, 1, 1}).expand({batch_size, 1, c.hidden_size})).squeeze(1);
      break;
    }
    case LogitsAt::None:
      break;
  }
  result.logits = logits(selected);
  return result;
}

torch::Tensor CausalLM::logits(const torch::Tensor& last_block_output) const {
  return head(final_norm(last_block_output));
}

torch::Tensor CausalLM::final_norm(const torch::Tensor& last_block_output) const {
  return norm(family_->block.norm, last_block_output, weights_.final_norm_weight, weights_.final_norm_bias,
              config_.norm_eps);
}

torch::Tensor CausalLM::head(const torch::Tensor& normed) const {
  const torch::Tensor logits =
      project(normed, weights_.lm_head_weight, weights_.lm_head_bias).to(torch::kFloat32);
  const double cap = config_.final_softcap;
  return cap > 0 ? torch::tanh(logits / cap) * cap : logits;
}

std::int64_t CausalLM::weight_bytes_per_token() const {
  std::int64_t bytes = 0;
  const auto add = [&bytes](const torch::Tensor& t) {
    if (t.defined()) bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
  };
  for (const LayerWeights& l : weights_.layers) {
    for (const torch::Tensor* t : l.all()) add(*t);
  }
  add(weights_.final_norm_weight);
  add(weights_.final_norm_bias);
  add(weights_.lm_head_weight);
  add(weights_.lm_head_bias);
  // one row of each embedding table
  bytes += 2 * c10::elementSize(options_.dtype) * config_.hidden_size;
  return bytes;
}

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    std::string why;
    if (!load_cuda_backend(&why)) {
      throw Error("<argument>", "--device", "'" + text + "' requested but libtorch's CUDA backend " + why);
    }
    if (!torch::cuda::is_available()) {
      throw Error("<argument>", "--device", "'" + text + "' requested but libtorch sees no CUDA device");
    }
    return torch::Device(text);
  }
  throw Error("<argument>", "--device", "'" + text + "' is not one of cpu, cuda, cuda:N");
}

torch::ScalarType parse_dtype(const std::string& text) {
  if (text == "fp32" || text == "float32") return torch::kFloat32;
  if (text == "bf16" || text == "bfloat16") return torch::kBFloat16;
  if (text == "fp16" || text == "float16") return torch::kFloat16;
  throw Error("<argument>", "--dtype",
              "'" + text + "' is not one of fp32, bf16, fp16, q8_0, q4_0, q4_1 (q4)");
}

std::optional<QuantFormat> parse_quant_format(const std::string& text) {
  if (text == "q8_0") return QuantFormat::Q8_0;
  if (text == "q4_0") return QuantFormat::Q4_0;
  if (text == "q4_1" || text == "q4") return QuantFormat::Q4_1;
  return std::nullopt;
}

LoadOptions load_options(const std::string& device, const std::string& dtype) {
  LoadOptions options;
  options.device = parse_device(device);
  options.quantized = parse_quant_format(dtype);
  options.dtype = options.quantized ? torch::kFloat32 : parse_dtype(dtype);
  return options;
}

}  // namespace remedi::lm
