#include "lm/config.h"

#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "io/gguf.h"
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

// Typed access to config.json keys. save_pretrained() may write only the values that differ from the
// class defaults, and some keys are written as null; both mean "use the transformers default",
// which the callers pass (taken from transformers' configuration_*.py).
class JsonConfig {
 public:
  JsonConfig(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  bool is_null(const std::string& key) const {
    const auto it = object_.find(key);
    return it != object_.end() && it->is_null();
  }

  const json* find(const std::string& key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<std::int64_t> optional_int(const std::string& key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number_integer())
      throw Error(path_, key, "expected an integer, found " + describe(*value));
    return value->get<std::int64_t>();
  }

  std::int64_t positive_int(const std::string& key, std::int64_t fallback) const {
    return checked_size(optional_int(key).value_or(fallback), path_, key);
  }

  std::optional<double> optional_number(const std::string& key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number()) throw Error(path_, key, "expected a number, found " + describe(*value));
    return value->get<double>();
  }

  double positive_number(const std::string& key, double fallback) const {
    const double value = optional_number(key).value_or(fallback);
    if (!(value > 0)) throw Error(path_, key, "must be positive, got " + std::to_string(value));
    return value;
  }

  bool flag(const std::string& key, bool fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) throw Error(path_, key, "expected true or false, found " + describe(*value));
    return value->get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_string()) throw Error(path_, key, "expected a string, found " + describe(*value));
    return value->get<std::string>();
  }

  // Token ids may be an integer or (eos in newer checkpoints) a list; the first entry is used.
  std::int64_t token_id(const std::string& key, std::int64_t fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (value->is_array()) {
      if (value->empty()) return -1;
      if (!(*value)[0].is_number_integer()) throw Error(path_, key, "expected integer token ids");
      return (*value)[0].get<std::int64_t>();
    }
    if (!value->is_number_integer())
      throw Error(path_, key, "expected a token id, found " + describe(*value));
    return value->get<std::int64_t>();
  }

  // "string \"12\"", "number 1.5", ...; long values are cut so the error stays one short line.
  static std::string describe(const json& value) {
    constexpr std::size_t kMaxShown = 40;
    std::string text = value.dump();
    if (text.size() > kMaxShown) text.replace(kMaxShown, std::string::npos, "...");
    return std::string(value.type_name()) + " " + text;
  }

 private:
  const json& object_;
  std::string path_;
};

struct Rope {
  double theta;
  double partial_rotary_factor;
};

// Rotary settings across transformers versions: `rope_parameters` (5.x) or `rope_scaling` (4.x)
// may hold the type, theta and partial factor; older keys sit at the top level (`rope_theta`,
// NeoX's `rotary_emb_base` / `rotary_pct`). Values inside the dict win, as in transformers.
Rope read_rope(const JsonConfig& config, double default_theta, double default_partial) {
  std::string dict_key;
  const json* dict = nullptr;
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (const json* value = config.find(key)) {
      if (!value->is_object())
        throw Error(config.path(), key, "expected an object, found " + JsonConfig::describe(*value));
      dict_key = key;
      dict = value;
      break;
    }
  }
  Rope rope{config.optional_number("rope_theta")
                .value_or(config.optional_number("rotary_emb_base").value_or(default_theta)),
            config.optional_number("partial_rotary_factor")
                .value_or(config.optional_number("rotary_pct").value_or(default_partial))};
  if (dict != nullptr) {
    const JsonConfig inner(*dict, config.path());
    const std::string type = inner.text("rope_type", inner.text("type", "default"));
    if (type != "default") {
      throw Error(config.path(), dict_key, "rope type '" + type + "' is not supported (only 'default')");
    }
    rope.theta = inner.optional_number("rope_theta").value_or(rope.theta);
    rope.partial_rotary_factor =
        inner.optional_number("partial_rotary_factor").value_or(rope.partial_rotary_factor);
  }
  if (!(rope.theta > 0)) throw Error(config.path(), "rope_theta", "must be positive");
  if (!(rope.partial_rotary_factor > 0 && rope.partial_rotary_factor <= 1)) {
    throw Error(config.path(), "partial_rotary_factor", "must be in (0, 1]");
  }
  return rope;
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

void check_rotary(const ModelConfig& config, const std::string& path, const std::string& key) {
  if (config.rotary_dim <= 0 || config.rotary_dim > config.head_dim || config.rotary_dim % 2 != 0) {
    throw Error(path, key,
                "rotary dimension " + std::to_string(config.rotary_dim) + " must be even and in 2.." +
                    std::to_string(config.head_dim));
  }
}

ModelConfig gpt2_from_json(const JsonConfig& json_config) {
  const std::string& path = json_config.path();
  // transformers GPT2Config defaults.
  ModelConfig config;
  config.family = Family::GPT2;
  config.n_layer = json_config.positive_int("n_layer", 12);
  config.hidden_size = json_config.positive_int("n_embd", 768);
  config.n_head = json_config.positive_int("n_head", 12);
  config.n_kv_head = config.n_head;
  config.head_dim = head_dim_or_error(config.hidden_size, config.n_head, path, "n_head");
  config.intermediate_size = json_config.positive_int("n_inner", 4 * config.hidden_size);
  config.vocab_size = json_config.positive_int("vocab_size", 50257);
  config.max_positions = json_config.positive_int("n_positions", 1024);
  config.norm_eps = json_config.positive_number("layer_norm_epsilon", 1e-5);
  config.activation =
      activation_from_name(json_config.text("activation_function", "gelu_new"), path, "activation_function");
  config.tie_word_embeddings = json_config.flag("tie_word_embeddings", true);
  config.attention_bias = true;
  config.mlp_bias = true;
  config.bos_token_id = json_config.token_id("bos_token_id", 50256);
  config.eos_token_id = json_config.token_id("eos_token_id", 50256);
  // Options that change the computation and that the runtime does not implement.
  if (!json_config.flag("scale_attn_weights", true)) {
    throw Error(path, "scale_attn_weights", "false is not supported");
  }
  if (json_config.flag("scale_attn_by_inverse_layer_idx", false)) {
    throw Error(path, "scale_attn_by_inverse_layer_idx", "true is not supported");
  }
  if (json_config.flag("add_cross_attention", false))
    throw Error(path, "add_cross_attention", "true is not supported");
  return config;
}

ModelConfig gptj_from_json(const JsonConfig& json_config) {
  const std::string& path = json_config.path();
  // transformers GPTJConfig defaults (GPT-J 6B).
  ModelConfig config;
  config.family = Family::GPTJ;
  config.n_layer = json_config.positive_int("n_layer", 28);
  config.hidden_size = json_config.positive_int("n_embd", 4096);
  config.n_head = json_config.positive_int("n_head", 16);
  config.n_kv_head = config.n_head;
  config.head_dim = head_dim_or_error(config.hidden_size, config.n_head, path, "n_head");
  // An absent rotary_dim takes the class default (64); null rotates the whole head.
  config.rotary_dim =
      json_config.is_null("rotary_dim") ? config.head_dim : json_config.positive_int("rotary_dim", 64);
  check_rotary(config, path, "rotary_dim");
  config.rope_theta = 10000.0;  // fixed in GPT-J's create_sinusoidal_positions
  config.rotary_interleaved = true;
  config.intermediate_size = json_config.positive_int("n_inner", 4 * config.hidden_size);
  config.vocab_size = json_config.positive_int("vocab_size", 50400);
  config.max_positions = json_config.positive_int("n_positions", 2048);
  config.norm_eps = json_config.positive_number("layer_norm_epsilon", 1e-5);
  config.activation =
      activation_from_name(json_config.text("activation_function", "gelu_new"), path, "activation_function");
  config.use_parallel_residual = true;
  config.tie_word_embeddings = json_config.flag("tie_word_embeddings", false);
  config.attention_bias = false;
  config.mlp_bias = true;
  config.bos_token_id = json_config.token_id("bos_token_id", 50256);
  config.eos_token_id = json_config.token_id("eos_token_id", 50256);
  return config;
}

ModelConfig neox_from_json(const JsonConfig& json_config) {
  const std::string& path = json_config.path();
  // transformers GPTNeoXConfig defaults (GPT-NeoX 20B).
  ModelConfig config;
  config.family = Family::NeoX;
  config.n_layer = json_config.positive_int("num_hidden_layers", 44);
  config.hidden_size = json_config.positive_int("hidden_size", 6144);
  config.n_head = json_config.positive_int("num_attention_heads", 64);
  config.n_kv_head = config.n_head;
  config.head_dim = head_dim_or_error(config.hidden_size, config.n_head, path, "num_attention_heads");
  const Rope rope = read_rope(json_config, 10000.0, 0.25);
  // transformers truncates: int(head_dim * rotary_pct).
  config.rotary_dim =
      static_cast<std::int64_t>(static_cast<double>(config.head_dim) * rope.partial_rotary_factor);
  check_rotary(config, path, "rotary_pct");
  config.rope_theta = rope.theta;
  config.intermediate_size = json_config.positive_int("intermediate_size", 24576);
  config.vocab_size = json_config.positive_int("vocab_size", 50432);
  config.max_positions = json_config.positive_int("max_position_embeddings", 2048);
  config.norm_eps = json_config.positive_number("layer_norm_eps", 1e-5);
  config.activation = activation_from_name(json_config.text("hidden_act", "gelu"), path, "hidden_act");
  config.use_parallel_residual = json_config.flag("use_parallel_residual", true);
  config.tie_word_embeddings = json_config.flag("tie_word_embeddings", false);
  if (!json_config.flag("attention_bias", true))
    throw Error(path, "attention_bias", "false is not supported");
  config.attention_bias = true;
  config.mlp_bias = true;
  config.bos_token_id = json_config.token_id("bos_token_id", 0);
  config.eos_token_id = json_config.token_id("eos_token_id", 2);
  return config;
}

// Class defaults of transformers' LlamaConfig (Llama 7B) and MistralConfig (Mistral 7B), which
// share the layout; Mistral has no bias options and a 4096-token sliding window by default.
struct LlamaDefaults {
  std::int64_t n_kv_head;  // 0: as many as query heads
  std::int64_t intermediate_size;
  std::int64_t max_positions;
  std::optional<std::int64_t> sliding_window;
  bool has_bias_options;
};
constexpr LlamaDefaults kLlamaDefaults{0, 11008, 2048, std::nullopt, true};
constexpr LlamaDefaults kMistralDefaults{8, 14336, 131072, 4096, false};

ModelConfig llama_from_json(const JsonConfig& json_config, const LlamaDefaults& defaults) {
  const std::string& path = json_config.path();
  ModelConfig config;
  config.family = Family::Llama;
  config.n_layer = json_config.positive_int("num_hidden_layers", 32);
  config.hidden_size = json_config.positive_int("hidden_size", 4096);
  config.n_head = json_config.positive_int("num_attention_heads", 32);
  config.n_kv_head = json_config.positive_int("num_key_value_heads",
                                              defaults.n_kv_head > 0 ? defaults.n_kv_head : config.n_head);
  if (config.n_head % config.n_kv_head != 0) {
    throw Error(path, "num_key_value_heads",
                std::to_string(config.n_head) + " heads cannot be shared evenly by " +
                    std::to_string(config.n_kv_head) + " key/value heads");
  }
  config.head_dim = json_config.find("head_dim") != nullptr
                        ? json_config.positive_int("head_dim", 0)
                        : head_dim_or_error(config.hidden_size, config.n_head, path, "num_attention_heads");
  const Rope rope = read_rope(json_config, 10000.0, 1.0);
  config.rotary_dim =
      static_cast<std::int64_t>(static_cast<double>(config.head_dim) * rope.partial_rotary_factor);
  check_rotary(config, path, "partial_rotary_factor");
  config.rope_theta = rope.theta;
  config.intermediate_size = json_config.positive_int("intermediate_size", defaults.intermediate_size);
  config.vocab_size = json_config.positive_int("vocab_size", 32000);
  config.max_positions = json_config.positive_int("max_position_embeddings", defaults.max_positions);
  config.norm_eps = json_config.positive_number("rms_norm_eps", 1e-6);
  config.activation = activation_from_name(json_config.text("hidden_act", "silu"), path, "hidden_act");
  if (config.activation != Activation::Silu) throw Error(path, "hidden_act", "llama models need silu");
  config.tie_word_embeddings = json_config.flag("tie_word_embeddings", false);
  if (defaults.has_bias_options) {
    config.attention_bias = json_config.flag("attention_bias", false);
    config.mlp_bias = json_config.flag("mlp_bias", false);
  }
  // A sliding window changes nothing while it covers the whole context.
  std::optional<std::int64_t> window = defaults.sliding_window;
  if (json_config.is_null("sliding_window")) {
    window.reset();
  } else if (json_config.find("sliding_window") != nullptr) {
    window = json_config.positive_int("sliding_window", 0);
  }
  if (window && *window < config.max_positions) {
    throw Error(path, "sliding_window",
                "sliding-window attention (" + std::to_string(*window) + " of " +
                    std::to_string(config.max_positions) + " positions) is not supported");
  }
  config.bos_token_id = json_config.token_id("bos_token_id", 1);
  config.eos_token_id = json_config.token_id("eos_token_id", 2);
  return config;
}

// GGUF keys are namespaced by architecture: `<arch>.block_count` etc. (ggml docs/gguf.md).
class GgufKeys {
 public:
  GgufKeys(const io::GgufFile& gguf, std::string arch) : gguf_(gguf), arch_(std::move(arch)) {}

  std::string key(const std::string& suffix) const { return arch_ + "." + suffix; }
  bool has(const std::string& suffix) const { return gguf_.has(key(suffix)); }

  std::int64_t positive_int(const std::string& suffix) const {
    return checked_size(gguf_.get_int(key(suffix)), gguf_.path(), key(suffix));
  }
  std::int64_t positive_int(const std::string& suffix, std::int64_t fallback) const {
    return has(suffix) ? positive_int(suffix) : fallback;
  }
  double positive_number(const std::string& suffix) const {
    const double value = gguf_.get_float(key(suffix));
    if (!(value > 0))
      throw Error(gguf_.path(), key(suffix), "must be positive, got " + std::to_string(value));
    return value;
  }

 private:
  const io::GgufFile& gguf_;
  std::string arch_;
};

std::int64_t gguf_token_id(const io::GgufFile& gguf, const std::string& key) {
  return gguf.has(key) ? gguf.get_int(key) : -1;
}

}  // namespace

std::string_view family_name(Family family) {
  switch (family) {
    case Family::GPT2:
      return "gpt2";
    case Family::GPTJ:
      return "gptj";
    case Family::NeoX:
      return "gpt_neox";
    case Family::Llama:
      return "llama";
  }
  return "unknown";
}

ModelConfig config_from_hf_json(const std::string& path) {
  const std::string file =
      std::filesystem::is_directory(path) ? (std::filesystem::path(path) / "config.json").string() : path;
  const json object = read_json_file(file);
  if (!object.is_object()) throw Error(file, "", "must be a JSON object");
  const JsonConfig json_config(object, file);
  const json* model_type = json_config.find("model_type");
  if (model_type == nullptr) throw Error(file, "model_type", "missing");
  const std::string type = json_config.text("model_type", "");
  if (type == "gpt2") return with_countable_size(gpt2_from_json(json_config), file);
  if (type == "gptj") return with_countable_size(gptj_from_json(json_config), file);
  if (type == "gpt_neox") return with_countable_size(neox_from_json(json_config), file);
  if (type == "llama") return with_countable_size(llama_from_json(json_config, kLlamaDefaults), file);
  if (type == "mistral") return with_countable_size(llama_from_json(json_config, kMistralDefaults), file);
  throw Error(file, "model_type",
              "unsupported model type '" + type + "' (gpt2, gptj, gpt_neox, llama, mistral)");
}

ModelConfig config_from_gguf(const io::GgufFile& gguf) {
  const std::string& path = gguf.path();
  const std::string arch = gguf.get_string("general.architecture");
  ModelConfig config;
  if (arch == "gpt2") {
    config.family = Family::GPT2;
  } else if (arch == "gptj") {
    config.family = Family::GPTJ;
  } else if (arch == "gptneox") {
    config.family = Family::NeoX;
  } else if (arch == "llama") {
    config.family = Family::Llama;
  } else {
    throw Error(path, "general.architecture",
                "unsupported architecture '" + arch + "' (gpt2, gptj, gptneox, llama)");
  }
  const GgufKeys keys(gguf, arch);
  config.n_layer = keys.positive_int("block_count");
  config.hidden_size = keys.positive_int("embedding_length");
  config.n_head = keys.positive_int("attention.head_count");
  config.n_kv_head = keys.positive_int("attention.head_count_kv", config.n_head);
  if (config.n_head % config.n_kv_head != 0) {
    throw Error(path, keys.key("attention.head_count_kv"),
                std::to_string(config.n_head) + " heads cannot be shared evenly by " +
                    std::to_string(config.n_kv_head) + " key/value heads");
  }
  config.head_dim =
      keys.has("attention.key_length")
          ? keys.positive_int("attention.key_length")
          : head_dim_or_error(config.hidden_size, config.n_head, path, keys.key("attention.head_count"));
  // GPT-2 style MLPs default to 4 x hidden; Llama's width is not derived from the hidden size.
  config.intermediate_size = config.family == Family::Llama
                                 ? keys.positive_int("feed_forward_length")
                                 : keys.positive_int("feed_forward_length", 4 * config.hidden_size);
  config.max_positions = keys.positive_int("context_length");
  config.norm_eps = keys.positive_number(config.family == Family::Llama ? "attention.layer_norm_rms_epsilon"
                                                                        : "attention.layer_norm_epsilon");
  if (config.family != Family::GPT2) {
    config.rotary_dim = keys.positive_int("rope.dimension_count", config.head_dim);
    check_rotary(config, path, keys.key("rope.dimension_count"));
    config.rope_theta = keys.has("rope.freq_base") ? keys.positive_number("rope.freq_base") : 10000.0;
    if (keys.has("rope.scaling.type")) {
      const std::string scaling = gguf.get_string(keys.key("rope.scaling.type"));
      if (scaling != "none") {
        throw Error(path, keys.key("rope.scaling.type"), "rope scaling '" + scaling + "' is not supported");
      }
    }
  }
  switch (config.family) {
    case Family::GPT2:
      config.activation = Activation::GeluNew;
      config.attention_bias = config.mlp_bias = true;
      break;
    case Family::GPTJ:
      config.activation = Activation::GeluNew;
      config.rotary_interleaved = true;
      config.use_parallel_residual = true;
      config.mlp_bias = true;
      break;
    case Family::NeoX:
      config.activation = Activation::GeluExact;
      config.use_parallel_residual =
          keys.has("use_parallel_residual") ? gguf.get_bool(keys.key("use_parallel_residual")) : true;
      config.attention_bias = config.mlp_bias = true;
      break;
    case Family::Llama:
      config.activation = Activation::Silu;
      break;
  }
  if (keys.has("vocab_size")) {
    config.vocab_size = keys.positive_int("vocab_size");
  } else if (gguf.has("tokenizer.ggml.tokens")) {
    config.vocab_size = static_cast<std::int64_t>(gguf.get_string_array("tokenizer.ggml.tokens").size());
  } else {
    throw Error(path, keys.key("vocab_size"), "missing, and no tokenizer.ggml.tokens to count");
  }
  if (config.vocab_size <= 0) throw Error(path, "tokenizer.ggml.tokens", "empty vocabulary");
  config.tie_word_embeddings = gguf.find_tensor("output.weight") == nullptr;
  config.bos_token_id = gguf_token_id(gguf, "tokenizer.ggml.bos_token_id");
  config.eos_token_id = gguf_token_id(gguf, "tokenizer.ggml.eos_token_id");
  config.pad_token_id = gguf_token_id(gguf, "tokenizer.ggml.padding_token_id");
  return with_countable_size(config, path);
}

std::int64_t parameter_count(const ModelConfig& config) {
  const std::int64_t layers = config.n_layer;
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t inner = config.intermediate_size;
  const std::int64_t vocab = config.vocab_size;
  CheckedSum total;
  total.add({vocab, hidden});                                   // token embeddings
  if (!config.tie_word_embeddings) total.add({vocab, hidden});  // LM head
  switch (config.family) {
    case Family::GPT2:
    case Family::NeoX:
      if (config.family == Family::GPT2) total.add({config.max_positions, hidden});  // learned positions
      total.add({layers, 4, hidden});              // two LayerNorms (weight and bias)
      total.add({layers, hidden + 1, 3, hidden});  // fused q/k/v with bias
      total.add({layers, hidden + 1, hidden});     // attention output with bias
      total.add({layers, hidden + 1, inner});      // MLP up with bias
      total.add({layers, inner + 1, hidden});      // MLP down with bias
      total.add({2, hidden});                      // final LayerNorm
      break;
    case Family::GPTJ:
      total.add({layers, 2, hidden});                       // one LayerNorm shared by attention and MLP
      total.add({layers, 4, hidden, hidden});               // q, k, v, out (no biases)
      total.add({layers, hidden + 1, inner});               // fc_in with bias
      total.add({layers, inner + 1, hidden});               // fc_out with bias
      total.add({2, hidden});                               // final LayerNorm
      if (!config.tie_word_embeddings) total.add({vocab});  // LM head bias
      break;
    case Family::Llama: {
      const std::int64_t bias = config.attention_bias ? 1 : 0;
      const std::int64_t mlp_bias = config.mlp_bias ? 1 : 0;
      total.add({layers, 2, hidden});                                            // two RMSNorms
      total.add({layers, hidden + bias, config.n_head, config.head_dim});        // q
      total.add({layers, hidden + bias, 2, config.n_kv_head, config.head_dim});  // k, v
      total.add({layers, config.n_head, config.head_dim, hidden});               // o
      total.add({layers, bias, hidden});                                         // o bias
      total.add({layers, hidden + mlp_bias, 2, inner});                          // gate, up
      total.add({layers, inner + mlp_bias, hidden});                             // down
      total.add({hidden});                                                       // final RMSNorm
      break;
    }
  }
  return total.value();
}

}  // namespace remedi::lm
