// Typed access to the two sources of a ModelConfig, for the generic readers in config.cpp and the
// steps of the families' config tables (lm/family.h). Every bad value throws
// remedi::Error(path, key, reason). No libtorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "lm/config.h"

namespace remedi::io {
class GgufFile;
}

namespace remedi::lm {

// config.json keys. save_pretrained() may write only the values that differ from the class
// defaults, and some keys are written as null; both mean "use the transformers default", which the
// callers pass (taken from transformers' configuration_*.py).
class JsonConfig {
 public:
  JsonConfig(const nlohmann::json& object, std::string path) : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string name(const std::string& key) const { return key; }  // as errors name it

  bool is_null(const std::string& key) const;
  const nlohmann::json* find(const std::string& key) const;  // nullptr when absent or null
  bool has(const std::string& key) const { return find(key) != nullptr; }

  std::optional<std::int64_t> optional_int(const std::string& key) const;
  // A size (positive, at most 2^32); the fallback is checked too. Absent without fallback: "missing".
  std::int64_t size(const std::string& key, std::optional<std::int64_t> fallback) const;
  std::optional<double> optional_number(const std::string& key) const;
  double number(const std::string& key, std::optional<double> fallback) const;  // positive
  bool flag(const std::string& key, bool fallback) const;
  std::string text(const std::string& key, const std::string& fallback) const;
  // Token ids may be an integer or (eos in newer checkpoints) a list; the first entry is used.
  std::int64_t token_id(const std::string& key, std::int64_t fallback) const;

  // "string \"12\"", "number 1.5", ...; long values are cut so the error stays one short line.
  static std::string describe(const nlohmann::json& value);

 private:
  const nlohmann::json& object_;
  std::string path_;
};

// GGUF metadata keys, namespaced by architecture: `<arch>.block_count` etc. (ggml docs/gguf.md).
// Methods take the key without the prefix. A missing key without fallback: "missing metadata key".
class GgufKeys {
 public:
  GgufKeys(const io::GgufFile& gguf, std::string arch) : gguf_(gguf), arch_(std::move(arch)) {}

  const std::string& path() const;
  const io::GgufFile& file() const { return gguf_; }  // its tensors (rope factors) and whole keys
  std::string name(const std::string& suffix) const { return arch_ + "." + suffix; }  // as errors name it
  bool has(const std::string& suffix) const;

  std::int64_t size(const std::string& suffix, std::optional<std::int64_t> fallback) const;
  double number(const std::string& suffix, std::optional<double> fallback) const;  // positive
  bool flag(const std::string& suffix, bool fallback) const;
  std::string text(const std::string& suffix, const std::string& fallback) const;
  std::int64_t token_id(const std::string& suffix, std::int64_t fallback) const;

 private:
  const io::GgufFile& gguf_;
  std::string arch_;
};

// Throws unless 0 < rotary_dim <= head_dim and rotary_dim is even; the error names `key`.
void check_rotary(const ModelConfig& config, const std::string& path, const std::string& key);

// Rotary settings of config.json across transformers versions: `rope_parameters` (5.x) or
// `rope_scaling` (4.x) may hold the type, theta and partial factor; older keys sit at the top level
// (`rope_theta`, NeoX's `rotary_emb_base` / `rotary_pct`). Values inside the dict win, as in
// transformers. Sets rope_theta and rotary_dim = int(head_dim * factor), checked under `check_key`,
// then the dict's scaling (rope_scaling_from_json; `phi3`: Phi-3's names and defaults). Runs after
// max_position_embeddings is read (some scalings derive their factor from it).
void rotary_from_json(const JsonConfig& json, ModelConfig& config, double default_theta,
                      double default_partial, const std::string& check_key, bool phi3 = false);

// Llama's rotary settings and those of the families built like it: rotary_from_json with theta
// 10000 and the whole head unless partial_rotary_factor says less.
void rotary_from_llama_json(const JsonConfig& json, ModelConfig& config);

// hidden_act must be silu (the SwiGLU families): "<family> models need silu" otherwise.
void require_silu(const JsonConfig& json, ModelConfig& config);

// config.json `layer_types` (transformers 5 writes one entry per layer), when present, must attend
// as is_sliding_layer(config, l) says: "sliding_attention" or "full_attention".
void check_layer_types(const JsonConfig& json, const ModelConfig& config);

// GGUF rope.dimension_count (default head_dim), rope.freq_base (default 10000) and the scaling
// (rope_scaling_from_gguf); after context_length.
void rotary_from_gguf(const GgufKeys& keys, ModelConfig& config);

}  // namespace remedi::lm
