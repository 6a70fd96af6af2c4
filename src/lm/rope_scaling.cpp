#include "lm/rope_scaling.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "io/gguf.h"
#include "lm/config_reader.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The inverse frequency of pair i of the unscaled table, in double.
double inverse_frequency(const ModelConfig& config, double theta, std::int64_t i) {
  return std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(config.rotary_dim));
}

// How many divisors a scaled table has; the fixed arrays of ModelConfig hold at most 128.
std::int64_t divisor_count(const ModelConfig& config, const std::string& path, const std::string& key) {
  const std::int64_t count = config.rotary_dim / 2;
  if (count > static_cast<std::int64_t>(config.rope_divisors.size())) {
    throw Error(path, key,
                "rope scaling supports a rotary dimension of at most " +
                    std::to_string(2 * config.rope_divisors.size()) + ", got " +
                    std::to_string(config.rotary_dim));
  }
  return count;
}

// Fixed divisors from a function of the pair index.
template <class Divisor>
void set_fixed(ModelConfig& config, const std::string& path, const std::string& key, Divisor divisor,
               double attention = 1.0) {
  const std::int64_t count = divisor_count(config, path, key);
  config.rope_scaling = RopeScaling::Fixed;
  config.rope_factor_count = count;
  for (std::int64_t i = 0; i < count; ++i)
    config.rope_divisors[static_cast<std::size_t>(i)] = static_cast<float>(divisor(i));
  config.rope_attention_factor = attention;
}

// YaRN's cos / sin scale suggested by the paper, 0.1 m ln(s) + 1 (transformers' and llama.cpp's
// get_mscale).
double yarn_mscale(double scale, double m = 1.0) {
  return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
}

// YaRN's divisors: pair i blends the interpolated frequency (divided by `factor`) and the original
// one, by a ramp between the correction dims of beta_fast and beta_slow rotations over the original
// context (floored and ceiled unless `truncate` is false), as transformers' _compute_yarn_parameters
// and llama.cpp's ggml_rope_yarn_corr_dims compute them.
void set_yarn(ModelConfig& config, const std::string& path, const std::string& key, double factor,
              std::int64_t original, double beta_fast, double beta_slow, bool truncate, double attention) {
  const double dim = static_cast<double>(config.rotary_dim);
  const double theta = config.rope_theta;
  const auto correction_dim = [&](double rotations) {
    return dim * std::log(static_cast<double>(original) / (rotations * 2 * kPi)) / (2 * std::log(theta));
  };
  double low = correction_dim(beta_fast);
  double high = correction_dim(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high) high += 0.001;  // as transformers (llama.cpp: max(0.001, high - low))
  set_fixed(
      config, path, key,
      [&](std::int64_t i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
        const double kept = 1.0 - ramp;  // the share of the original frequency
        return 1.0 / ((1.0 - kept) / factor + kept);
      },
      attention);
}

// A positive number of the dict, or `fallback` when absent (nullopt: required).
double positive(const JsonConfig& dict, const std::string& dict_key, const std::string& key,
                std::optional<double> fallback) {
  const std::optional<double> value = dict.optional_number(key);
  if (!value && !fallback) throw Error(dict.path(), dict_key + "." + key, "missing");
  const double v = value.value_or(fallback.value_or(0));
  if (!(v > 0) || !std::isfinite(v)) throw Error(dict.path(), dict_key + "." + key, "must be positive");
  return v;
}

// A list of rotary_dim / 2 positive factors into `out`.
void read_factors(const JsonConfig& dict, const std::string& dict_key, const std::string& key,
                  const ModelConfig& config, std::array<float, 128>& out) {
  const nlohmann::json* list = dict.find(key);
  const auto count = static_cast<std::size_t>(divisor_count(config, dict.path(), dict_key));
  if (list == nullptr || !list->is_array() || list->size() != count) {
    throw Error(dict.path(), dict_key + "." + key,
                "expected a list of " + std::to_string(count) + " factors (rotary_dim / 2)");
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (!(*list)[i].is_number() || !((*list)[i].get<double>() > 0)) {
      throw Error(dict.path(), dict_key + "." + key, "factors must be positive numbers");
    }
    out[i] = (*list)[i].get<float>();
  }
}

// A 1-D float tensor of rotary_dim / 2 positive values, or nullopt when the file has none.
std::optional<std::vector<float>> gguf_factors(const GgufKeys& keys, const ModelConfig& config,
                                               const std::string& name) {
  const io::TensorView* view = keys.file().find_tensor(name);
  if (view == nullptr) return std::nullopt;
  const std::int64_t count = divisor_count(config, keys.path(), name);
  if (view->shape != std::vector<std::int64_t>{count} || !io::dtype_is_float_like(view->dtype)) {
    throw Error(keys.path(), name,
                "expected " + std::to_string(count) + " float factors (rope.dimension_count / 2)");
  }
  std::vector<float> values(static_cast<std::size_t>(count));
  io::to_f32(*view, values, keys.path());
  for (const float v : values) {
    if (!(v > 0) || !std::isfinite(v)) throw Error(keys.path(), name, "factors must be positive");
  }
  return values;
}

// An optional positive GGUF number (llama.cpp reads 0 as "not set" for some: the callers say).
std::optional<double> gguf_number(const GgufKeys& keys, const std::string& key) {
  if (!keys.has(key)) return std::nullopt;
  return keys.number(key, std::nullopt);
}

}  // namespace

void rope_scaling_from_json(const JsonConfig& json, const JsonConfig& dict, const std::string& dict_key,
                            ModelConfig& config, bool phi3) {
  std::string type = dict.text("rope_type", dict.text("type", "default"));
  if (phi3 && (type == "su" || type == "yarn")) type = "longrope";
  if (type == "default") return;
  const std::string& path = dict.path();
  const std::string original_key = "original_max_position_embeddings";
  // The context the model was trained on: the top-level key wins, as transformers' standardization
  // has it (Phi-3's config class always has one, 4096 by default), then the dict's, then the context.
  const auto original = [&] {
    if (json.has(original_key) || phi3) return json.size(original_key, 4096);
    if (dict.has(original_key)) return dict.size(original_key, std::nullopt);
    return config.max_positions;
  };
  if (phi3 && type != "longrope") {
    throw Error(path, dict_key, "rope type '" + type + "' is not supported (default, longrope, su)");
  }
  if (type == "linear") {
    const double factor = positive(dict, dict_key, "factor", std::nullopt);
    set_fixed(config, path, dict_key, [&](std::int64_t) { return factor; });
  } else if (type == "dynamic") {
    if (config.rotary_dim < 4)
      throw Error(path, dict_key, "dynamic scaling needs a rotary dimension of 4 or more");
    config.rope_scaling = RopeScaling::Dynamic;
    config.rope_scaling_factor = positive(dict, dict_key, "factor", std::nullopt);
    // transformers grows the base past max_position_embeddings, not past an original context.
    config.rope_original_max_positions = config.max_positions;
  } else if (type == "llama3") {
    const double factor = positive(dict, dict_key, "factor", std::nullopt);
    const double low = positive(dict, dict_key, "low_freq_factor", std::nullopt);
    const double high = positive(dict, dict_key, "high_freq_factor", std::nullopt);
    if (!(high > low))
      throw Error(path, dict_key + ".high_freq_factor", "must be greater than low_freq_factor");
    const auto context = static_cast<double>(original());
    const double low_wavelength = context / low;
    const double high_wavelength = context / high;
    set_fixed(config, path, dict_key, [&](std::int64_t i) {
      const double wavelength = 2 * kPi / inverse_frequency(config, config.rope_theta, i);
      if (wavelength < high_wavelength) return 1.0;
      if (wavelength > low_wavelength) return factor;
      const double smooth = (context / wavelength - low) / (high - low);
      return 1.0 / ((1.0 - smooth) / factor + smooth);
    });
  } else if (type == "yarn") {
    const std::int64_t context = original();
    // An explicit null factor is the context ratio (DeepSeek-V3's convention in transformers).
    const double factor = dict.is_null("factor")
                              ? static_cast<double>(config.max_positions) / static_cast<double>(context)
                              : positive(dict, dict_key, "factor", std::nullopt);
    double attention = yarn_mscale(factor);
    if (dict.optional_number("attention_factor")) {
      attention = positive(dict, dict_key, "attention_factor", std::nullopt);
    } else {
      const double mscale = dict.optional_number("mscale").value_or(0);
      const double mscale_all_dim = dict.optional_number("mscale_all_dim").value_or(0);
      if (mscale != 0 && mscale_all_dim != 0)
        attention = yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim);
    }
    // 0 or null: the paper's 32 and 1, as transformers reads them.
    const auto beta = [&](const std::string& key, double paper) {
      return dict.optional_number(key).value_or(0) == 0 ? paper : positive(dict, dict_key, key, std::nullopt);
    };
    set_yarn(config, path, dict_key, factor, context, beta("beta_fast", 32), beta("beta_slow", 1),
             dict.flag("truncate", true), attention);
  } else if (type == "longrope") {
    config.rope_original_max_positions = original();
    const double factor = dict.optional_number("factor").value_or(
        static_cast<double>(config.max_positions) / static_cast<double>(config.rope_original_max_positions));
    const double fallback =
        factor <= 1.0
            ? 1.0
            : std::sqrt(1.0 +
                        std::log(factor) / std::log(static_cast<double>(config.rope_original_max_positions)));
    config.rope_attention_factor = positive(dict, dict_key, "attention_factor", fallback);
    read_factors(dict, dict_key, "short_factor", config, config.rope_divisors);
    read_factors(dict, dict_key, "long_factor", config, config.rope_long_divisors);
    config.rope_factor_count = config.rotary_dim / 2;
    config.rope_scaling = RopeScaling::LongRope;
  } else {
    throw Error(
        path, dict_key,
        "rope type '" + type + "' is not supported (default, linear, dynamic, llama3, yarn, longrope)");
  }
}

void rope_scaling_from_gguf(const GgufKeys& keys, ModelConfig& config) {
  const std::string path = keys.path();
  // llama.cpp: the factor (0: none) under its current or its former key; a missing type is linear.
  std::optional<double> factor;
  for (const char* key : {"rope.scaling.factor", "rope.scale_linear"}) {
    if (!factor && keys.has(key) && keys.file().get_float(keys.name(key)) != 0)
      factor = keys.number(key, std::nullopt);
  }
  const std::string type = keys.text("rope.scaling.type", factor ? "linear" : "none");
  const std::string type_key = keys.name("rope.scaling.type");
  const std::int64_t original = keys.size("rope.scaling.original_context_length", config.max_positions);
  const double attn_factor = gguf_number(keys, "rope.scaling.attn_factor").value_or(1.0);
  const std::optional<std::vector<float>> freqs = gguf_factors(keys, config, "rope_freqs.weight");
  const std::optional<std::vector<float>> long_factors =
      gguf_factors(keys, config, "rope_factors_long.weight");
  const std::optional<std::vector<float>> short_factors =
      gguf_factors(keys, config, "rope_factors_short.weight");
  if (long_factors.has_value() != short_factors.has_value()) {
    throw Error(path, long_factors ? "rope_factors_short.weight" : "rope_factors_long.weight",
                "missing (longrope needs both factor tensors)");
  }
  if (type == "longrope" || long_factors) {
    // Phi-3's converter writes no type (llama.cpp's "linear" without a factor), others "longrope".
    if (!long_factors) throw Error(path, type_key, "longrope without rope_factors_long / _short tensors");
    if ((type != "longrope" && type != "none" && type != "linear") || factor || freqs) {
      throw Error(path, "rope_factors_long.weight",
                  "longrope factors with other rope scaling are not supported");
    }
    config.rope_scaling = RopeScaling::LongRope;
    config.rope_original_max_positions = original;
    config.rope_attention_factor = attn_factor;
    config.rope_factor_count = static_cast<std::int64_t>(long_factors->size());
    std::copy(short_factors->begin(), short_factors->end(), config.rope_divisors.begin());
    std::copy(long_factors->begin(), long_factors->end(), config.rope_long_divisors.begin());
    return;
  }
  const double scale = factor.value_or(1.0);
  if (type == "none" || type == "linear") {
    // llama.cpp ignores the factor when the type is none; rope_freqs applies whatever the type.
    const bool linear = type == "linear" && scale != 1.0;
    if (!linear && !freqs) return;
    set_fixed(config, path, type_key, [&](std::int64_t i) {
      return (linear ? scale : 1.0) * (freqs ? (*freqs)[static_cast<std::size_t>(i)] : 1.0f);
    });
    return;
  }
  if (type != "yarn") {
    throw Error(path, type_key,
                "rope scaling '" + type + "' is not supported (none, linear, yarn, longrope)");
  }
  if (keys.has("rope.scaling.yarn_ext_factor") &&
      keys.file().get_float(keys.name("rope.scaling.yarn_ext_factor")) != 1.0) {
    throw Error(path, keys.name("rope.scaling.yarn_ext_factor"), "only 1 is supported");
  }
  // llama.cpp's cos / sin scale: get_mscale(factor), or its ratio to get_mscale(factor,
  // yarn_log_multiplier) when that is set, times rope.scaling.attn_factor.
  const double log_multiplier = keys.has("rope.scaling.yarn_log_multiplier")
                                    ? keys.file().get_float(keys.name("rope.scaling.yarn_log_multiplier"))
                                    : 0;
  double attention = yarn_mscale(scale) * attn_factor;
  if (log_multiplier != 0) attention /= yarn_mscale(scale, log_multiplier);
  set_yarn(config, path, type_key, scale, original,
           gguf_number(keys, "rope.scaling.yarn_beta_fast").value_or(32),
           gguf_number(keys, "rope.scaling.yarn_beta_slow").value_or(1), true, attention);
  if (freqs) {
    for (std::size_t i = 0; i < freqs->size(); ++i) config.rope_divisors[i] *= (*freqs)[i];
  }
}

bool rotary_depends_on_length(const ModelConfig& config) {
  return config.rope_scaling == RopeScaling::Dynamic || config.rope_scaling == RopeScaling::LongRope;
}

RotaryFrequencies rotary_frequencies(const ModelConfig& config, double theta, std::int64_t length,
                                     bool scaled) {
  RotaryFrequencies out;
  out.theta = theta;
  if (!scaled) return out;
  const auto divisors = [&](const std::array<float, 128>& values) {
    return std::vector<float>(values.begin(), values.begin() + config.rope_factor_count);
  };
  switch (config.rope_scaling) {
    case RopeScaling::None:
      break;
    case RopeScaling::Fixed:
      out.divisors = divisors(config.rope_divisors);
      out.attention_scale = config.rope_attention_factor;
      break;
    case RopeScaling::Dynamic:
      if (length > config.rope_original_max_positions) {
        const double factor = config.rope_scaling_factor;
        const auto dim = static_cast<double>(config.rotary_dim);
        out.theta = theta * std::pow(factor * static_cast<double>(length) /
                                             static_cast<double>(config.rope_original_max_positions) -
                                         (factor - 1),
                                     dim / (dim - 2));
      }
      break;
    case RopeScaling::LongRope:
      out.divisors = divisors(length > config.rope_original_max_positions ? config.rope_long_divisors
                                                                          : config.rope_divisors);
      out.attention_scale = config.rope_attention_factor;
      break;
  }
  return out;
}

}  // namespace remedi::lm
