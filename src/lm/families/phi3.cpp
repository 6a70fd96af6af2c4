// Phi-3 (and Phi-3.5 mini): Llama's block with the q, k and v projections fused in one matrix and
// gate and up in another, an optional sliding window on every layer, and "longrope" rotary scaling
// (per-dimension factors, short or long by the context reached, and scaled cos / sin).
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "lm/config_reader.h"
#include "lm/families/tables.h"
#include "lm/family.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

using C = ModelConfig;

// A list of rotary_dim / 2 positive factors into `out`.
void read_factors(const JsonConfig& dict, const std::string& key, const ModelConfig& config,
                  std::array<float, 128>& out) {
  const nlohmann::json* list = dict.find(key);
  const auto count = static_cast<std::size_t>(config.rotary_dim / 2);
  if (list == nullptr || !list->is_array() || list->size() != count || count > out.size()) {
    throw Error(dict.path(), key,
                "expected a list of " + std::to_string(count) + " factors (rotary_dim / 2)");
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!(*list)[i].is_number() || !((*list)[i].get<double>() > 0)) {
      throw Error(dict.path(), key, "factors must be positive numbers");
    }
    out[i] = (*list)[i].get<float>();
  }
}

// Rotary settings: as Llama's unless rope_parameters (transformers 5) or rope_scaling (4.x) names
// "longrope" (or its former name "su"), which brings its factors, the original context and the
// cos / sin scale (by default sqrt(1 + ln(factor) / ln(original)), factor = context / original).
void rotary_from_phi3_json(const JsonConfig& json, ModelConfig& config) {
  std::string key = "rope_parameters";
  const nlohmann::json* dict = json.find(key);
  if (dict == nullptr) dict = json.find(key = "rope_scaling");
  if (dict == nullptr || !dict->is_object()) {
    rotary_from_llama_json(json, config);
    return;
  }
  const JsonConfig inner(*dict, json.path());
  const std::string type = inner.text("rope_type", inner.text("type", "default"));
  if (type == "default") {
    rotary_from_llama_json(json, config);
    return;
  }
  if (type != "longrope" && type != "su") {
    throw Error(json.path(), key, "rope type '" + type + "' is not supported (default, longrope, su)");
  }
  config.rope_theta =
      inner.optional_number("rope_theta").value_or(json.optional_number("rope_theta").value_or(1e4));
  const double partial = inner.optional_number("partial_rotary_factor")
                             .value_or(json.optional_number("partial_rotary_factor").value_or(1.0));
  if (!(config.rope_theta > 0)) throw Error(json.path(), key, "rope_theta must be positive");
  if (!(partial > 0 && partial <= 1)) throw Error(json.path(), "partial_rotary_factor", "must be in (0, 1]");
  config.rotary_dim = static_cast<std::int64_t>(static_cast<double>(config.head_dim) * partial);
  check_rotary(config, json.path(), "partial_rotary_factor");
  const std::string original_key = "original_max_position_embeddings";
  config.rope_original_max_positions =
      inner.has(original_key) ? inner.size(original_key, std::nullopt) : json.size(original_key, 4096);
  const double factor = inner.optional_number("factor").value_or(
      static_cast<double>(config.max_positions) / static_cast<double>(config.rope_original_max_positions));
  const double default_attention =
      factor <= 1.0 ? 1.0
                    : std::sqrt(1.0 + std::log(factor) /
                                          std::log(static_cast<double>(config.rope_original_max_positions)));
  config.rope_attention_factor = inner.optional_number("attention_factor").value_or(default_attention);
  read_factors(inner, "short_factor", config, config.rope_short_factors);
  read_factors(inner, "long_factor", config, config.rope_long_factors);
  config.rope_factor_count = config.rotary_dim / 2;
}

// A window (null: none) covers every layer.
void sliding_window_from_json(const JsonConfig& json, ModelConfig& config) {
  config.sliding_window = json.has("sliding_window") ? json.size("sliding_window", std::nullopt) : 0;
}

// transformers' Phi3Config defaults (Phi-3 mini 4k).
constexpr std::array kHfKeys{
    HfKey::size("num_hidden_layers", &C::n_layer, 32),
    HfKey::size("hidden_size", &C::hidden_size, 3072),
    HfKey::size("num_attention_heads", &C::n_head, 32),
    HfKey::kv_heads("num_key_value_heads", times(1, &C::n_head)),
    HfKey::head_dim("num_attention_heads"),
    HfKey::size("intermediate_size", &C::intermediate_size, 8192),
    HfKey::size("vocab_size", &C::vocab_size, 32064),
    HfKey::size("max_position_embeddings", &C::max_positions, 4096),
    HfKey::step(rotary_from_phi3_json),
    HfKey::number("rms_norm_eps", &C::norm_eps, 1e-5),
    HfKey::activation("hidden_act", "silu"),
    HfKey::step(require_silu),
    HfKey::flag("tie_word_embeddings", &C::tie_word_embeddings, false),
    HfKey::step(sliding_window_from_json),
    HfKey::token("bos_token_id", &C::bos_token_id, 1),
    HfKey::token("eos_token_id", &C::eos_token_id, 32000),
};
constexpr std::array kHfModelTypes{HfModelType{"phi3", kHfKeys}};

// llama.cpp stores longrope's factors as tensors (rope_factors_long / _short) and writes
// rope.scaling.attn_factor with them; such files are refused rather than run without the scaling.
void refuse_gguf_longrope(const GgufKeys& keys, ModelConfig&) {
  if (keys.has("rope.scaling.attn_factor")) {
    throw Error(keys.path(), keys.name("rope.scaling.attn_factor"),
                "longrope scaling from GGUF files is not supported (use the HF folder)");
  }
}

constexpr std::array kGgufKeys{
    GgufKey::size("feed_forward_length", &C::intermediate_size),
    GgufKey::size("context_length", &C::max_positions),
    GgufKey::number("attention.layer_norm_rms_epsilon", &C::norm_eps),
    GgufKey::step(rotary_from_gguf),
    GgufKey::step(refuse_gguf_longrope),
    GgufKey::step([](const GgufKeys& keys, ModelConfig& config) {
      config.sliding_window =
          keys.has("attention.sliding_window") ? keys.size("attention.sliding_window", std::nullopt) : 0;
    }),
};

// The fused rows are q (all heads), k, v and gate, up: the slots' own order.
constexpr auto kTensors = join(
    kLlamaLikeEmbedding,
    std::array{
        TensorSpec{Slot::Norm1Weight, "input_layernorm.weight", "attn_norm.weight", {Dim::Hidden}},
        TensorSpec{
            Slot::QkvWeight, "self_attn.qkv_proj.weight", "attn_qkv.weight", {Dim::QkvRows, Dim::Hidden}},
        TensorSpec{
            Slot::OutWeight, "self_attn.o_proj.weight", "attn_output.weight", {Dim::Hidden, Dim::QRows}},
        TensorSpec{Slot::Norm2Weight, "post_attention_layernorm.weight", "ffn_norm.weight", {Dim::Hidden}},
        TensorSpec{
            Slot::GateUpWeight, "mlp.gate_up_proj.weight", "ffn_up.weight", {Dim::Inner2, Dim::Hidden}},
        TensorSpec{Slot::DownWeight, "mlp.down_proj.weight", "ffn_down.weight", {Dim::Hidden, Dim::Inner}},
    },
    kLlamaLikeFinalRows);

}  // namespace

extern const FamilyDescription kPhi3Family;
constexpr FamilyDescription kPhi3Family{
    .name = "phi3",
    .hf = kHfModelTypes,
    .hf_layers = "model.layers.",
    .gguf_architecture = "phi3",
    .gguf = kGgufKeys,
    .fixed = {.activation = Activation::Silu, .global_every = 0},
    .tensors = kTensors,
    .block = {.norm = Norm::Rms, .mlp = Mlp::Gated},
};

}  // namespace remedi::lm
