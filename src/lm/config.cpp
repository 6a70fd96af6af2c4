#include "lm/config.h"

#include <array>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "io/gguf.h"
#include "lm/config_reader.h"
#include "lm/family.h"
#include "lm/rope_scaling.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::lm {

namespace {

using nlohmann::json;

// Sizes above this are not a model anyone can load, and capping them keeps every product of two
// sizes inside 64 bits.
constexpr std::int64_t kMaxSize = std::int64_t{1} << 32;

std::int64_t checked_size(std::int64_t value, const std::string& path, const std::string& key) {
  if (value <= 0) throw Error(path, key, "must be positive, got " + std::to_string(value));
  if (value > kMaxSize)
    throw Error(path, key, "must be at most " + std::to_string(kMaxSize) + ", got " + std::to_string(value));
  return value;
}

// A sum of products that reports overflow instead of wrapping.
class CheckedSum {
 public:
  void add(std::initializer_list<std::int64_t> factors) {
    std::int64_t product = 1;
    for (const std::int64_t factor : factors) {
      if (__builtin_mul_overflow(product, factor, &product))
        throw std::overflow_error("parameter count overflows");
    }
    if (__builtin_add_overflow(value_, product, &value_))
      throw std::overflow_error("parameter count overflows");
  }
  std::int64_t value() const { return value_; }

 private:
  std::int64_t value_ = 0;
};

// Rejects configs whose parameter count does not fit in 64 bits (so parameter_count never throws
// for a config that loaded).
ModelConfig with_countable_size(const ModelConfig& config, const std::string& path) {
  try {
    parameter_count(config);
  } catch (const std::overflow_error&) {
    throw Error(path, "", "sizes are too large: the parameter count overflows 64 bits");
  }
  return config;
}

Activation activation_from_name(const std::string& name, const std::string& path, const std::string& key) {
  // gelu_pytorch_tanh is the same tanh approximation as gelu_new.
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluNew;
  if (name == "gelu") return Activation::GeluExact;
  if (name == "silu" || name == "swish") return Activation::Silu;
  throw Error(path, key,
              "activation '" + name + "' is not supported (gelu, gelu_new, gelu_pytorch_tanh, silu)");
}

std::int64_t head_dim_or_error(std::int64_t hidden, std::int64_t heads, const std::string& path,
                               const std::string& heads_key) {
  if (hidden % heads != 0) {
    throw Error(
        path, heads_key,
        "hidden size " + std::to_string(hidden) + " is not divisible by " + std::to_string(heads) + " heads");
  }
  return hidden / heads;
}

// Runs one row of a family's config table (lm/family.h) on either reader.
template <class Reader>
void apply(const ConfigKey<Reader>& row, const Reader& reader, ModelConfig& config) {
  using Kind = typename ConfigKey<Reader>::Kind;
  const std::string key(row.key);
  const auto size_fallback = [&]() -> std::optional<std::int64_t> {
    if (row.required) return std::nullopt;
    const SizeFallback& fallback = row.size_fallback;
    return fallback.times == nullptr ? fallback.value : fallback.value * (config.*fallback.times);
  };
  switch (row.kind) {
    case Kind::Size:
      config.*row.int_field = reader.size(key, size_fallback());
      break;
    case Kind::Number:
      config.*row.number_field =
          reader.number(key, row.required ? std::nullopt : std::optional<double>(row.number_fallback));
      break;
    case Kind::Flag:
      config.*row.flag_field = reader.flag(key, row.flag_fallback);
      break;
    case Kind::TokenId:
      config.*row.int_field = reader.token_id(key, row.size_fallback.value);
      break;
    case Kind::Activation:
      config.activation = activation_from_name(reader.text(key, std::string(row.text_fallback)),
                                               reader.path(), reader.name(key));
      break;
    case Kind::Refuse:
      if (reader.flag(key, !row.flag_fallback) == row.flag_fallback) {
        throw Error(reader.path(), reader.name(key),
                    std::string(row.flag_fallback ? "true" : "false") + " is not supported");
      }
      break;
    case Kind::KvHeads:
      config.n_kv_head = reader.size(key, size_fallback());
      if (config.n_head % config.n_kv_head != 0) {
        throw Error(reader.path(), reader.name(key),
                    std::to_string(config.n_head) + " heads cannot be shared evenly by " +
                        std::to_string(config.n_kv_head) + " key/value heads");
      }
      break;
    case Kind::HeadDim:
      config.head_dim = !key.empty() && reader.has(key)
                            ? reader.size(key, std::nullopt)
                            : head_dim_or_error(config.hidden_size, config.n_head, reader.path(),
                                                reader.name(std::string(row.other_key)));
      break;
    case Kind::Step:
      if (row.run != nullptr) row.run(reader, config);
      break;
  }
}

// The start of every config of a family: its fixed fields, under its name.
ModelConfig fixed_config(const FamilyDescription& family) {
  ModelConfig config = family.fixed;
  config.family = Family{family.name};
  return config;
}

// "a, b, c" of what `names` gives for each family.
template <class Names>
std::string list_of(Names names) {
  std::string list;
  for (const FamilyDescription* family : families()) {
    for (const std::string_view name : names(*family)) {
      if (name.empty()) continue;
      if (!list.empty()) list += ", ";
      list += name;
    }
  }
  return list;
}

ModelConfig config_from_json_object(const JsonConfig& json_config) {
  const std::string& file = json_config.path();
  if (json_config.find("model_type") == nullptr) throw Error(file, "model_type", "missing");
  const std::string type = json_config.text("model_type", "");
  for (const FamilyDescription* family : families()) {
    for (const HfModelType& model_type : family->hf) {
      if (model_type.name != type) continue;
      ModelConfig config = fixed_config(*family);
      for (const HfKey& row : model_type.keys) apply(row, json_config, config);
      if (config.n_kv_head == 0) config.n_kv_head = config.n_head;  // no grouped-query attention
      return with_countable_size(config, file);
    }
  }
  const std::string supported = list_of([](const FamilyDescription& family) {
    std::vector<std::string_view> names;
    for (const HfModelType& model_type : family.hf) names.push_back(model_type.name);
    return names;
  });
  throw Error(file, "model_type", "unsupported model type '" + type + "' (" + supported + ")");
}

// The attention shape, which every architecture gives under the same keys.
constexpr std::array kGgufAttentionShape{
    GgufKey::size("block_count", &ModelConfig::n_layer),
    GgufKey::size("embedding_length", &ModelConfig::hidden_size),
    GgufKey::size("attention.head_count", &ModelConfig::n_head),
    GgufKey::kv_heads("attention.head_count_kv", times(1, &ModelConfig::n_head)),
    GgufKey::head_dim("attention.head_count", "attention.key_length"),
};

// A special token's id; when absent, `fallback` (-1: none).
std::int64_t gguf_token_id(const io::GgufFile& gguf, const std::string& key, std::int64_t fallback = -1) {
  return gguf.has(key) ? gguf.get_int(key) : fallback;
}

// The GGUF name of the LM head: a file without it ties the head to the token embedding.
std::string gguf_head_name(const FamilyDescription& family) {
  for (const TensorSpec& row : family.tensors) {
    if (row.slot == Slot::LmHeadWeight) return std::string(row.gguf);
  }
  return "output.weight";
}

}  // namespace

// ---- JsonConfig ----

bool JsonConfig::is_null(const std::string& key) const {
  const auto it = object_.find(key);
  return it != object_.end() && it->is_null();
}

const json* JsonConfig::find(const std::string& key) const {
  const auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::int64_t> JsonConfig::optional_int(const std::string& key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) throw Error(path_, key, "expected an integer, found " + describe(*value));
  return value->get<std::int64_t>();
}

std::int64_t JsonConfig::size(const std::string& key, std::optional<std::int64_t> fallback) const {
  const std::optional<std::int64_t> value = optional_int(key);
  if (!value && !fallback) throw Error(path_, key, "missing");
  return checked_size(value ? *value : *fallback, path_, key);
}

std::optional<double> JsonConfig::optional_number(const std::string& key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) throw Error(path_, key, "expected a number, found " + describe(*value));
  return value->get<double>();
}

double JsonConfig::number(const std::string& key, std::optional<double> fallback) const {
  const std::optional<double> read = optional_number(key);
  if (!read && !fallback) throw Error(path_, key, "missing");
  const double value = read ? *read : *fallback;
  if (!(value > 0)) throw Error(path_, key, "must be positive, got " + std::to_string(value));
  return value;
}

bool JsonConfig::flag(const std::string& key, bool fallback) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) throw Error(path_, key, "expected true or false, found " + describe(*value));
  return value->get<bool>();
}

std::string JsonConfig::text(const std::string& key, const std::string& fallback) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) throw Error(path_, key, "expected a string, found " + describe(*value));
  return value->get<std::string>();
}

std::int64_t JsonConfig::token_id(const std::string& key, std::int64_t fallback) const {
  const json* value = find(key);
  if (value == nullptr) return fallback;
  if (value->is_array()) {
    if (value->empty()) return -1;
    if (!(*value)[0].is_number_integer()) throw Error(path_, key, "expected integer token ids");
    return (*value)[0].get<std::int64_t>();
  }
  if (!value->is_number_integer()) throw Error(path_, key, "expected a token id, found " + describe(*value));
  return value->get<std::int64_t>();
}

std::string JsonConfig::describe(const json& value) {
  constexpr std::size_t kMaxShown = 40;
  std::string text = value.dump();
  if (text.size() > kMaxShown) text.replace(kMaxShown, std::string::npos, "...");
  return std::string(value.type_name()) + " " + text;
}

// ---- GgufKeys ----

const std::string& GgufKeys::path() const { return gguf_.path(); }

bool GgufKeys::has(const std::string& suffix) const { return gguf_.has(name(suffix)); }

std::int64_t GgufKeys::size(const std::string& suffix, std::optional<std::int64_t> fallback) const {
  if (fallback && !has(suffix)) return *fallback;
  return checked_size(gguf_.get_int(name(suffix)), path(), name(suffix));
}

double GgufKeys::number(const std::string& suffix, std::optional<double> fallback) const {
  if (fallback && !has(suffix)) return *fallback;
  const double value = gguf_.get_float(name(suffix));
  if (!(value > 0)) throw Error(path(), name(suffix), "must be positive, got " + std::to_string(value));
  return value;
}

bool GgufKeys::flag(const std::string& suffix, bool fallback) const {
  return has(suffix) ? gguf_.get_bool(name(suffix)) : fallback;
}

std::string GgufKeys::text(const std::string& suffix, const std::string& fallback) const {
  return has(suffix) ? gguf_.get_string(name(suffix)) : fallback;
}

std::int64_t GgufKeys::token_id(const std::string& suffix, std::int64_t fallback) const {
  return has(suffix) ? gguf_.get_int(name(suffix)) : fallback;
}

// ---- Shared steps ----

void check_rotary(const ModelConfig& config, const std::string& path, const std::string& key) {
  if (config.rotary_dim <= 0 || config.rotary_dim > config.head_dim || config.rotary_dim % 2 != 0) {
    throw Error(path, key,
                "rotary dimension " + std::to_string(config.rotary_dim) + " must be even and in 2.." +
                    std::to_string(config.head_dim));
  }
}

void rotary_from_json(const JsonConfig& json_config, ModelConfig& config, double default_theta,
                      double default_partial, const std::string& check_key, bool phi3) {
  std::string dict_key;
  const json* dict = nullptr;
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (const json* value = json_config.find(key)) {
      if (!value->is_object())
        throw Error(json_config.path(), key, "expected an object, found " + JsonConfig::describe(*value));
      dict_key = key;
      dict = value;
      break;
    }
  }
  double theta = json_config.optional_number("rope_theta")
                     .value_or(json_config.optional_number("rotary_emb_base").value_or(default_theta));
  double partial = json_config.optional_number("partial_rotary_factor")
                       .value_or(json_config.optional_number("rotary_pct").value_or(default_partial));
  std::optional<JsonConfig> inner;
  if (dict != nullptr) {
    inner.emplace(*dict, json_config.path());
    theta = inner->optional_number("rope_theta").value_or(theta);
    partial = inner->optional_number("partial_rotary_factor").value_or(partial);
  }
  if (!(theta > 0)) throw Error(json_config.path(), "rope_theta", "must be positive");
  if (!(partial > 0 && partial <= 1)) {
    throw Error(json_config.path(), "partial_rotary_factor", "must be in (0, 1]");
  }
  // transformers truncates: int(head_dim * partial_rotary_factor).
  config.rotary_dim = static_cast<std::int64_t>(static_cast<double>(config.head_dim) * partial);
  check_rotary(config, json_config.path(), check_key);
  config.rope_theta = theta;
  if (inner) rope_scaling_from_json(json_config, *inner, dict_key, config, phi3);
}

void rotary_from_llama_json(const JsonConfig& json_config, ModelConfig& config) {
  rotary_from_json(json_config, config, 10000.0, 1.0, "partial_rotary_factor");
}

void require_silu(const JsonConfig& json_config, ModelConfig& config) {
  if (config.activation != Activation::Silu) {
    throw Error(json_config.path(), "hidden_act", std::string(config.family.name) + " models need silu");
  }
}

void check_layer_types(const JsonConfig& json_config, const ModelConfig& config) {
  const json* types = json_config.find("layer_types");
  if (types == nullptr) return;
  if (!types->is_array() || static_cast<std::int64_t>(types->size()) != config.n_layer) {
    throw Error(json_config.path(), "layer_types", "expected one entry per layer");
  }
  for (std::int64_t l = 0; l < config.n_layer; ++l) {
    const json& type = (*types)[static_cast<std::size_t>(l)];
    const std::string expected = is_sliding_layer(config, l) ? "sliding_attention" : "full_attention";
    if (type != expected) {
      throw Error(json_config.path(), "layer_types",
                  "layer " + std::to_string(l) + " is " + JsonConfig::describe(type) + ", only '" + expected +
                      "' is supported there");
    }
  }
}

void rotary_from_gguf(const GgufKeys& keys, ModelConfig& config) {
  config.rotary_dim = keys.size("rope.dimension_count", config.head_dim);
  check_rotary(config, keys.path(), keys.name("rope.dimension_count"));
  config.rope_theta = keys.number("rope.freq_base", 10000.0);
  rope_scaling_from_gguf(keys, config);
}

// ---- The readers ----

std::ostream& operator<<(std::ostream& out, Family family) { return out << family.name; }

ModelConfig config_from_hf_json(const std::string& path) {
  const std::string file =
      std::filesystem::is_directory(path) ? (std::filesystem::path(path) / "config.json").string() : path;
  const json object = read_json_file(file);
  if (!object.is_object()) throw Error(file, "", "must be a JSON object");
  return config_from_json_object(JsonConfig(object, file));
}

ModelConfig config_from_gguf(const io::GgufFile& gguf) {
  const std::string& path = gguf.path();
  const std::string arch = gguf.get_string("general.architecture");
  const FamilyDescription* family = nullptr;
  for (const FamilyDescription* candidate : families()) {
    if (!candidate->gguf_architecture.empty() && candidate->gguf_architecture == arch) {
      family = candidate;
      break;
    }
  }
  if (family == nullptr) {
    const std::string supported =
        list_of([](const FamilyDescription& candidate) { return std::array{candidate.gguf_architecture}; });
    throw Error(path, "general.architecture", "unsupported architecture '" + arch + "' (" + supported + ")");
  }
  const GgufKeys keys(gguf, arch);
  ModelConfig config = fixed_config(*family);
  for (const GgufKey& row : kGgufAttentionShape) apply(row, keys, config);
  for (const GgufKey& row : family->gguf) apply(row, keys, config);
  if (keys.has("vocab_size")) {
    config.vocab_size = keys.size("vocab_size", std::nullopt);
  } else if (gguf.has("tokenizer.ggml.tokens")) {
    config.vocab_size = static_cast<std::int64_t>(gguf.get_string_array("tokenizer.ggml.tokens").size());
  } else {
    throw Error(path, keys.name("vocab_size"), "missing, and no tokenizer.ggml.tokens to count");
  }
  if (config.vocab_size <= 0) throw Error(path, "tokenizer.ggml.tokens", "empty vocabulary");
  config.tie_word_embeddings = gguf.find_tensor(gguf_head_name(*family)) == nullptr;
  // llama.cpp's defaults for a SentencePiece vocabulary without the keys: <s> 1, </s> 2 (as the
  // tokenizer's, tok/tokenizer_gguf.cpp).
  const bool sentencepiece = gguf.has("tokenizer.ggml.model") &&
                             gguf.get_string("tokenizer.ggml.model") == "llama" && config.vocab_size > 2;
  config.bos_token_id = gguf_token_id(gguf, "tokenizer.ggml.bos_token_id", sentencepiece ? 1 : -1);
  config.eos_token_id = gguf_token_id(gguf, "tokenizer.ggml.eos_token_id", sentencepiece ? 2 : -1);
  config.pad_token_id = gguf_token_id(gguf, "tokenizer.ggml.padding_token_id");
  return with_countable_size(config, path);
}

std::int64_t parameter_count(const ModelConfig& config) {
  // Every tensor of the family's table that an HF checkpoint of this config holds, as
  // transformers counts them.
  CheckedSum total;
  for (const TensorSpec& row : family_description(config.family).tensors) {
    if (row.hf.empty() || !holds(row.when, config)) continue;
    const auto [rows_a, rows_b] = dim_factors(config, row.shape[0]);
    const auto [columns_a, columns_b] = dim_factors(config, row.shape[1]);
    total.add({is_layer_slot(row.slot) ? config.n_layer : 1, rows_a, rows_b, columns_a, columns_b});
  }
  return total.value();
}

}  // namespace remedi::lm
