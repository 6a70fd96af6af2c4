// Gemma 2 and Gemma 3 (the text model, gemma3_text): RMSNorms scaled by (1 + w), token embeddings
// times sqrt(hidden_size), GeGLU MLP (gelu-tanh), a norm before and after both attention and MLP,
// queries scaled by query_pre_attn_scalar^-1/2, and sliding-window layers between global ones
// (Gemma 2: every other layer; Gemma 3: five of every six). Gemma 2 soft-caps attention scores
// and final logits; Gemma 3 instead norms each query and key head and gives sliding layers their
// own rotary base (never scaled; the global one may be). llama.cpp keeps HF's half-split rotary
// (rope type NEOX) and folds the 1 of (1 + w) into its norm weights, which the tensor table undoes.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"
#include "lm/rope_scaling.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

void require_gelu_tanh(const JsonConfig& json, ModelConfig& config) {
  if (config.activation != Activation::GeluNew) {
    throw Error(json.path(), "hidden_activation", "gemma models need gelu_pytorch_tanh");
  }
}

// A soft-cap: absent takes the class default, null (or 0) turns it off.
double softcap(const JsonConfig& json, const std::string& key, double fallback) {
  if (json.is_null(key)) return 0;
  const double value = json.optional_number(key).value_or(fallback);
  if (value < 0) throw Error(json.path(), key, "must not be negative");
  return value;
}

// The window (null: none) and which layers use it: layer_types when the file has them (the first
// global layer gives the period), else the period of the family or of sliding_window_pattern.
void sliding_window_from_json(const JsonConfig& json, ModelConfig& config) {
  config.sliding_window = json.is_null("sliding_window") ? 0 : json.size("sliding_window", 4096);
  if (json.has("sliding_window_pattern")) {
    config.global_every = json.size("sliding_window_pattern", std::nullopt);
  }
  if (const nlohmann::json* types = json.find("layer_types"); types != nullptr && types->is_array()) {
    for (std::size_t l = 0; l < types->size(); ++l) {
      if ((*types)[l] == "full_attention") {
        config.global_every = static_cast<std::int64_t>(l) + 1;
        break;
      }
    }
  }
  check_layer_types(json, config);
}

void gemma2_options(const JsonConfig& json, ModelConfig& config) {
  rotary_from_json(json, config, 10000.0, 1.0, "head_dim");
  config.attention_softcap = softcap(json, "attn_logit_softcapping", 50.0);
  config.final_softcap = softcap(json, "final_logit_softcapping", 30.0);
  sliding_window_from_json(json, config);
}

// An object-valued key of `json`, or nullopt when absent or null.
std::optional<JsonConfig> object_at(const JsonConfig& json, const std::string& key) {
  const nlohmann::json* value = json.find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_object())
    throw Error(json.path(), key, "expected an object, found " + JsonConfig::describe(*value));
  return JsonConfig(*value, json.path());
}

// Gemma 3's rotary settings: transformers 5 writes rope_parameters with one table per attention
// type; older files give rope_theta (global), rope_local_base_freq and rope_scaling (global). The
// global table may be scaled (Gemma 3 4B and larger: linear, factor 8); the sliding one keeps its
// own base unscaled.
void gemma3_options(const JsonConfig& json, ModelConfig& config) {
  config.rotary_dim = config.head_dim;
  config.rope_theta = json.optional_number("rope_theta").value_or(1e6);
  config.rope_local_theta = json.optional_number("rope_local_base_freq").value_or(1e4);
  std::optional<JsonConfig> global;  // the dict describing the global table, and its key
  std::string global_key;
  if (const std::optional<JsonConfig> parameters = object_at(json, "rope_parameters")) {
    if (const std::optional<JsonConfig> full = object_at(*parameters, "full_attention")) {
      global.emplace(*full);
      global_key = "rope_parameters.full_attention";
    }
    if (const std::optional<JsonConfig> sliding = object_at(*parameters, "sliding_attention")) {
      const std::string type = sliding->text("rope_type", sliding->text("type", "default"));
      if (type != "default") {
        throw Error(json.path(), "rope_parameters.sliding_attention",
                    "rope type '" + type + "' is not supported (only 'default')");
      }
      config.rope_local_theta = sliding->optional_number("rope_theta").value_or(config.rope_local_theta);
    }
  }
  // transformers merges a 4.x rope_scaling into the global table.
  if (const std::optional<JsonConfig> scaling = object_at(json, "rope_scaling")) {
    global.emplace(*scaling);
    global_key = "rope_scaling";
  }
  if (global) config.rope_theta = global->optional_number("rope_theta").value_or(config.rope_theta);
  if (!(config.rope_theta > 0) || !(config.rope_local_theta > 0))
    throw Error(json.path(), "rope_parameters", "rope_theta must be positive");
  if (global) rope_scaling_from_json(json, *global, global_key, config);
  config.attention_softcap = softcap(json, "attn_logit_softcapping", 0);
  config.final_softcap = softcap(json, "final_logit_softcapping", 0);
  sliding_window_from_json(json, config);
}

// transformers' Gemma2Config / Gemma3TextConfig defaults (the 2B / 4B shapes).
constexpr auto hf_keys(bool gemma3) {
  return std::array{
      HfKey::size("num_hidden_layers", &C::n_layer, 26),
      HfKey::size("hidden_size", &C::hidden_size, 2304),
      HfKey::size("num_attention_heads", &C::n_head, 8),
      HfKey::kv_heads("num_key_value_heads", 4),
      HfKey::size("head_dim", &C::head_dim, 256),
      HfKey::size("intermediate_size", &C::intermediate_size, 9216),
      HfKey::size("vocab_size", &C::vocab_size, gemma3 ? 262208 : 256000),
      HfKey::size("max_position_embeddings", &C::max_positions, gemma3 ? 131072 : 8192),
      HfKey::number("rms_norm_eps", &C::norm_eps, 1e-6),
      HfKey::activation("hidden_activation", "gelu_pytorch_tanh"),
      HfKey::step(require_gelu_tanh),
      HfKey::number("query_pre_attn_scalar", &C::query_pre_attn_scalar, 256),
      HfKey::step(gemma3 ? gemma3_options : gemma2_options),
      HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, true),
      HfKey::refuse("attention_bias", true),
      HfKey::refuse("use_bidirectional_attention", true),
      HfKey::token("bos_token_id", &C::bos_token_id, 2),
      HfKey::token("eos_token_id", &C::eos_token_id, 1),
  };
}
constexpr auto kGemma2Keys = hf_keys(false);
constexpr auto kGemma3Keys = hf_keys(true);
constexpr std::array kGemma2Types{HfModelType{"gemma2", kGemma2Keys}};
constexpr std::array kGemma3Types{HfModelType{"gemma3_text", kGemma3Keys}};

// GGUF files do not record query_pre_attn_scalar: llama.cpp scales by head_dim, except for the 27B
// models (46 layers of Gemma 2, 62 of Gemma 3), which use hidden_size / n_head, as their configs do.
template <std::int64_t kLayersOf27B>
void query_scale_from_gguf(const GgufKeys&, ModelConfig& config) {
  config.query_pre_attn_scalar = static_cast<double>(
      config.n_layer == kLayersOf27B ? config.hidden_size / config.n_head : config.head_dim);
}

constexpr auto gguf_keys(bool gemma3) {
  return std::array{
      GgufKey::size("feed_forward_length", &C::intermediate_size),
      GgufKey::size("context_length", &C::max_positions),
      GgufKey::number("attention.layer_norm_rms_epsilon", &C::norm_eps),
      GgufKey::step(rotary_from_gguf),
      GgufKey::size("attention.sliding_window", &C::sliding_window),
      GgufKey::size("attention.sliding_window_pattern", &C::global_every, gemma3 ? 6 : 2),
      gemma3 ? GgufKey::step(nullptr)
             : GgufKey::number("attn_logit_softcapping", &C::attention_softcap, 50.0),
      gemma3 ? GgufKey::step(nullptr) : GgufKey::number("final_logit_softcapping", &C::final_softcap, 30.0),
      GgufKey::step(gemma3 ? query_scale_from_gguf<62> : query_scale_from_gguf<46>),
  };
}
constexpr auto kGemma2GgufKeys = gguf_keys(false);
constexpr auto kGemma3GgufKeys = gguf_keys(true);

constexpr TensorSpec norm_row(Slot slot, std::string_view hf, std::string_view gguf, Dim dim = Dim::Hidden) {
  return {slot, hf, gguf, {dim, Dim::None}, When::Always, Layout::GgufPlusOne};
}

// Gemma 3 adds the q/k norms; otherwise the tables agree.
constexpr std::array kBefore{
    TensorSpec{
        Slot::TokenEmbedding, "model.embed_tokens.weight", "token_embd.weight", {Dim::Vocab, Dim::Hidden}},
    norm_row(Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight"),
    TensorSpec{Slot::QkvWeight, "self_attn.q_proj.weight", "attn_q.weight", {Dim::QRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "self_attn.k_proj.weight", "attn_k.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::QkvWeight, "self_attn.v_proj.weight", "attn_v.weight", {Dim::KvRows, Dim::Hidden}},
    TensorSpec{Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
};
constexpr std::array kQkNorms{
    norm_row(Slot::QNormWeight, "self_attn.q_norm.weight", "attn_q_norm.weight", Dim::HeadDim),
    norm_row(Slot::KNormWeight, "self_attn.k_norm.weight", "attn_k_norm.weight", Dim::HeadDim),
};
constexpr std::array kAfter{
    norm_row(Slot::PostAttentionNormWeight, "post_attention_layernorm.weight", "post_attention_norm.weight"),
    norm_row(Slot::Norm2Weight, "pre_feedforward_layernorm.weight", "ffn_norm.weight"),
    TensorSpec{Slot::GateUpWeight, "mlp.gate_proj.weight", "ffn_gate.weight", {Dim::Inner, Dim::Hidden}},
    TensorSpec{Slot::GateUpWeight, "mlp.up_proj.weight", "ffn_up.weight", {Dim::Inner, Dim::Hidden}},
    TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    norm_row(Slot::PostMlpNormWeight, "post_feedforward_layernorm.weight", "post_ffw_norm.weight"),
    norm_row(Slot::FinalNormWeight, "model.norm.weight", "output_norm.weight"),
    TensorSpec{
        Slot::LmHeadWeight, "lm_head.weight", "output.weight", {Dim::Vocab, Dim::Hidden}, When::UnlessTied},
};
constexpr auto kGemma2Tensors = join(kBefore, kAfter);
constexpr auto kGemma3Tensors = join(kBefore, kQkNorms, kAfter);

}  // namespace

extern const FamilyDescription kGemma2Family, kGemma3Family;
constexpr FamilyDescription kGemma2Family{
    .name = "gemma2",
    .hf = kGemma2Types,
    .hf_layers = "model.layers.",
    .gguf_architecture = "gemma2",
    .gguf = kGemma2GgufKeys,
    .fixed = {.activation = Activation::GeluNew, .global_every = 2, .scale_embedding = true},
    .tensors = kGemma2Tensors,
    .block = {.norm = Norm::RmsOnePlus, .mlp = Mlp::Gated},
};
constexpr FamilyDescription kGemma3Family{
    .name = "gemma3",
    .hf = kGemma3Types,
    .hf_layers = "model.layers.",
    .gguf_architecture = "gemma3",
    .gguf = kGemma3GgufKeys,
    .fixed = {.activation = Activation::GeluNew,
              .rope_theta = 1e6,
              .global_every = 6,
              .rope_local_theta = 1e4,
              .scale_embedding = true},
    .tensors = kGemma3Tensors,
    .block = {.norm = Norm::RmsOnePlus, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
