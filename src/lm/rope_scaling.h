// Rotary scaling: how a model's rotary frequencies stretch past the context it was trained on. One
// module for every family: it reads the scaling from config.json (transformers' rope types) or from
// GGUF metadata and tensors (as llama.cpp's converter writes them) into the ModelConfig fields
// rope_scaling ... rope_long_divisors, and gives the frequencies and cos / sin scale of each
// forward's rotary table (layers.cpp builds the table). No libtorch here: the config readers use it.
//
// Every type comes down to per-frequency divisors of the unscaled inverse frequencies
// theta^(-2i / rotary_dim) and a factor on cos and sin, fixed or chosen per forward:
//   linear    every frequency divided by `factor`;
//   llama3    high frequencies kept, low ones divided by `factor`, a smooth blend between;
//   yarn      the same blend over the dims between two correction dims (beta_fast, beta_slow), and
//             cos / sin times attention_factor (0.1 ln(factor) + 1 by default);
//   dynamic   NTK: no divisors, but a forward reaching length L > max_position_embeddings uses the
//             base theta * (factor L / max - (factor - 1))^(d / (d - 2));
//   longrope  the short divisors while a forward stays within the original context, the long ones
//             past it, and cos / sin times attention_factor.
// transformers chooses dynamic's base and longrope's divisors per forward from its largest position,
// and so does remedi; a KV cache keeps the keys rotated before (generate.cpp reruns longrope's
// sequence when it first passes the original context, as transformers' Phi-3 does).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lm/config.h"

namespace remedi::lm {

class JsonConfig;  // lm/config_reader.h
class GgufKeys;

// config.json: the scaling that `dict` describes (rope_parameters or rope_scaling, or Gemma 3's
// table of its global layers), on a config whose rotary_dim, rope_theta and max_positions are set.
// "default" (or no type) leaves it unscaled. Errors name `dict_key`. `json` is the whole file: its
// top-level original_max_position_embeddings wins over the dict's, as in transformers. `phi3`:
// transformers' Phi-3 also calls longrope "su" and "yarn", accepts no other type, and has an original
// context of 4096 by default.
void rope_scaling_from_json(const JsonConfig& json, const JsonConfig& dict, const std::string& dict_key,
                            ModelConfig& config, bool phi3 = false);

// GGUF: `<arch>.rope.scaling.type` (none, linear, yarn, longrope; absent means linear when
// rope.scaling.factor is there, as llama.cpp reads it), .factor, .original_context_length
// (default: the context length), .attn_factor, .yarn_beta_fast (32), .yarn_beta_slow (1),
// .yarn_log_multiplier, and the tensors rope_freqs.weight (Llama 3's divisors, which multiply any
// others) and rope_factors_long.weight / rope_factors_short.weight (longrope, whatever the type says).
// YaRN's cos / sin scale is llama.cpp's: 0.1 ln(factor) + 1, times attn_factor (its
// rope.scaling.yarn_attn_factor is ignored, as llama.cpp does).
void rope_scaling_from_gguf(const GgufKeys& keys, ModelConfig& config);

// What one forward's rotary table uses.
struct RotaryFrequencies {
  double theta = 0;              // the base
  std::vector<float> divisors;   // of each inverse frequency, rotary_dim / 2 of them; empty: none
  double attention_scale = 1.0;  // cos and sin times this
};

// Whether the table depends on the forward's length (dynamic, longrope).
bool rotary_depends_on_length(const ModelConfig& config);

// The table of base `theta` for a forward whose largest position is `length` - 1. `scaled` false:
// the unscaled table (Gemma 3's sliding layers, which keep their own base unscaled).
RotaryFrequencies rotary_frequencies(const ModelConfig& config, double theta, std::int64_t length,
                                     bool scaled);

}  // namespace remedi::lm
