// Model configs: config.json files written by transformers and the values transformers itself read
// from them (tests/fixtures/config/expected.json, with the parameter count of the model it built),
// GGUF metadata, and the errors for missing or invalid fields.
#include "lm/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/expect_error.h"
#include "io/gguf.h"
#include "io/gguf_builder.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::GeluNew:
      return "gelu_new";
    case Activation::GeluExact:
      return "gelu";
    case Activation::Silu:
      return "silu";
  }
  return "";
}

TEST(HfConfig, MatchesWhatTransformersReads) {
  const auto expected = nlohmann::json::parse(test::read_file(test::fixture("config/expected.json")));
  ASSERT_EQ(expected.size(), 24U);
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    const ModelConfig config = config_from_hf_json(test::fixture("config/" + name));
    EXPECT_EQ(family_name(config.family), want["model_type"].get<std::string>());
    EXPECT_EQ(config.n_layer, want["n_layer"]);
    EXPECT_EQ(config.hidden_size, want["hidden_size"]);
    EXPECT_EQ(config.n_head, want["n_head"]);
    EXPECT_EQ(config.n_kv_head, want["n_kv_head"]);
    EXPECT_EQ(config.head_dim, want["head_dim"]);
    EXPECT_EQ(config.intermediate_size, want["intermediate_size"]);
    EXPECT_EQ(config.vocab_size, want["vocab_size"]);
    EXPECT_EQ(config.max_positions, want["max_positions"]);
    EXPECT_DOUBLE_EQ(config.norm_eps, want["norm_eps"].get<double>());
    EXPECT_EQ(activation_name(config.activation), want["activation"].get<std::string>());
    EXPECT_EQ(config.rotary_dim, want["rotary_dim"]);
    if (want.contains("rope_theta")) {
      EXPECT_DOUBLE_EQ(config.rope_theta, want["rope_theta"].get<double>());
    }
    EXPECT_EQ(config.tie_word_embeddings, want["tie_word_embeddings"]);
    EXPECT_EQ(config.bos_token_id, want["bos_token_id"]);
    const auto& eos = want["eos_token_id"];
    EXPECT_EQ(config.eos_token_id, eos.is_array() ? eos[0] : eos);  // the first of several
    EXPECT_EQ(config.pad_token_id, -1);
    EXPECT_EQ(config.rotary_interleaved, config.family == Family::GPTJ);
    if (want.contains("use_parallel_residual")) {
      EXPECT_EQ(config.use_parallel_residual, want["use_parallel_residual"]);
    }
    if (want.contains("attention_bias")) {
      EXPECT_EQ(config.attention_bias, want["attention_bias"]);
    }
    if (want.contains("mlp_bias")) {
      EXPECT_EQ(config.mlp_bias, want["mlp_bias"]);
    }
    // Gemma's attention (absent keys: what the other families have)
    EXPECT_EQ(config.sliding_window, want.value("sliding_window", 0));
    if (want.contains("global_every")) {
      EXPECT_EQ(config.global_every, want["global_every"]);
    }
    EXPECT_DOUBLE_EQ(config.query_pre_attn_scalar, want.value("query_pre_attn_scalar", 0.0));
    EXPECT_DOUBLE_EQ(config.attention_softcap, want.value("attention_softcap", 0.0));
    EXPECT_DOUBLE_EQ(config.final_softcap, want.value("final_softcap", 0.0));
    EXPECT_DOUBLE_EQ(config.rope_local_theta, want.value("rope_local_theta", 0.0));
    EXPECT_EQ(parameter_count(config), want["parameter_count"]);
  }
}

TEST(HfConfig, AcceptsAConfigJsonPath) {
  EXPECT_EQ(config_from_hf_json(test::fixture("config/gptj/config.json")).family, Family::GPTJ);
}

class HfConfigErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("config-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void expect_rejected(const std::string& json_text, const std::string& field, const std::string& reason) {
    const std::string path = dir_ + "/config.json";
    test::write_file(path, json_text);
    test::expect_error([&] { config_from_hf_json(dir_); }, path, field, reason);
  }

  std::string dir_;
};

TEST_F(HfConfigErrors, MissingOrInvalidFields) {
  expect_rejected(R"({"n_layer": 2})", "model_type", "missing");
  expect_rejected(
      R"({"model_type": "bert"})", "model_type",
      "unsupported model type 'bert' (gpt2, gptj, gpt_neox, llama, mistral, qwen2, qwen3, olmo2, gemma2, "
      "gemma3_text, phi3)");
  expect_rejected(R"({"model_type": 7})", "model_type", "expected a string, found number 7");
  expect_rejected(R"({"model_type": "gpt2", "n_layer": "12"})", "n_layer",
                  "expected an integer, found string \"12\"");
  expect_rejected(R"({"model_type": "gpt2", "n_layer": 1.5})", "n_layer",
                  "expected an integer, found number 1.5");
  expect_rejected(
      R"({"model_type": "gpt2", "n_layer": [1000000, 2000000, 3000000, 4000000, 5000000, 6000000]})",
      "n_layer", "expected an integer, found array [1000000,2000000,3000000,4000000,5000000...");
  expect_rejected(R"({"model_type": "gpt2", "n_embd": -4})", "n_embd", "must be positive, got -4");
  expect_rejected(R"({"model_type": "gpt2", "n_embd": 8589934592})", "n_embd",
                  "must be at most 4294967296, got 8589934592");
  expect_rejected(R"({"model_type": "gpt2", "n_layer": 4294967296, "n_embd": 1048576, "n_head": 1})", "",
                  "sizes are too large: the parameter count overflows 64 bits");
  expect_rejected(R"({"model_type": "gpt2", "n_embd": 16, "n_head": 3})", "n_head",
                  "hidden size 16 is not divisible by 3 heads");
  expect_rejected(R"({"model_type": "gpt2", "layer_norm_epsilon": "small"})", "layer_norm_epsilon",
                  "expected a number, found string \"small\"");
  expect_rejected(R"({"model_type": "gpt2", "activation_function": "relu"})", "activation_function",
                  "activation 'relu' is not supported (gelu, gelu_new, gelu_pytorch_tanh, silu)");
  expect_rejected(R"({"model_type": "gpt2", "tie_word_embeddings": 1})", "tie_word_embeddings",
                  "expected true or false, found number 1");
  expect_rejected(R"({"model_type": "gpt2", "scale_attn_by_inverse_layer_idx": true})",
                  "scale_attn_by_inverse_layer_idx", "true is not supported");
  expect_rejected(R"({"model_type": "gptj", "n_embd": 64, "n_head": 4})", "rotary_dim",
                  "rotary dimension 64 must be even and in 2..16");
  expect_rejected(
      R"({"model_type": "gpt_neox", "hidden_size": 64, "num_attention_heads": 4, "rotary_pct": 1.5})",
      "partial_rotary_factor", "must be in (0, 1]");
  expect_rejected(R"({"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5})",
                  "num_key_value_heads", "32 heads cannot be shared evenly by 5 key/value heads");
  expect_rejected(
      R"({"model_type": "llama", "rope_scaling": {"rope_type": "proportional", "factor": 8.0}})",
      "rope_scaling",
      "rope type 'proportional' is not supported (default, linear, dynamic, llama3, yarn, longrope)");
  expect_rejected(R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})",
                  "rope_scaling.low_freq_factor", "missing");
  expect_rejected(R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                      "low_freq_factor": 4.0, "high_freq_factor": 4.0}})",
                  "rope_scaling.high_freq_factor", "must be greater than low_freq_factor");
  expect_rejected(R"({"model_type": "llama", "rope_scaling": {"type": "linear", "factor": -2.0}})",
                  "rope_scaling.factor", "must be positive");
  expect_rejected(R"({"model_type": "llama", "rope_parameters": {"rope_type": "yarn"}})",
                  "rope_parameters.factor", "missing");
  expect_rejected(
      R"({"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4, "beta_fast": -1}})",
      "rope_scaling.beta_fast", "must be positive");
  expect_rejected(R"({"model_type": "qwen2", "rope_scaling": {"rope_type": "su", "factor": 2.0}})",
                  "rope_scaling",
                  "rope type 'su' is not supported (default, linear, dynamic, llama3, yarn, longrope)");
  expect_rejected(R"({"model_type": "phi3", "rope_scaling": {"rope_type": "linear", "factor": 2.0}})",
                  "rope_scaling", "rope type 'linear' is not supported (default, longrope, su)");
  expect_rejected(R"({"model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4,
                      "rope_scaling": {"type": "su", "short_factor": [1, 1, 1], "long_factor": [1, 1, 1]}})",
                  "rope_scaling.short_factor", "expected a list of 8 factors (rotary_dim / 2)");
  expect_rejected(R"({"model_type": "gemma3_text", "rope_parameters": {"sliding_attention":
                      {"rope_type": "linear", "factor": 2.0}}})",
                  "rope_parameters.sliding_attention",
                  "rope type 'linear' is not supported (only 'default')");
  expect_rejected(R"({"model_type": "llama", "rope_scaling": "big"})", "rope_scaling",
                  "expected an object, found string \"big\"");
  expect_rejected(R"({"model_type": "llama", "hidden_act": "gelu"})", "hidden_act", "llama models need silu");
  expect_rejected(R"({"model_type": "mistral", "sliding_window": 4096, "max_position_embeddings": 32768})",
                  "sliding_window", "sliding-window attention (4096 of 32768 positions) is not supported");
  expect_rejected(R"({"model_type": "mistral"})", "sliding_window",
                  "sliding-window attention (4096 of 131072 positions) is not supported");
  expect_rejected("[1]", "", "must be a JSON object");
}

TEST_F(HfConfigErrors, BrokenJson) {
  const std::string path = dir_ + "/config.json";
  test::write_file(path, R"({"model_type": "gpt2",)");
  try {
    config_from_hf_json(path);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.reason().rfind("not valid JSON: ", 0), 0U) << e.reason();
  }
  test::expect_error([&] { config_from_hf_json(dir_ + "/absent"); }, dir_ + "/absent", "",
                     "cannot open: No such file or directory");
}

TEST(HfConfig, NullMeansDefaultAndListsGiveTheFirstToken) {
  const std::string dir = test::temp_dir("config-defaults");
  test::write_file(
      dir + "/config.json",
      R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": null,
                       "rope_scaling": null, "eos_token_id": [5, 6], "pad_token_id": null, "head_dim": null})");
  const ModelConfig config = config_from_hf_json(dir);
  EXPECT_EQ(config.n_kv_head, 4);
  EXPECT_EQ(config.head_dim, 16);
  EXPECT_EQ(config.eos_token_id, 5);
  EXPECT_EQ(config.rotary_dim, 16);
  // GPT-J: an absent rotary_dim is the class default 64, null rotates the whole head.
  test::write_file(dir + "/config.json",
                   R"({"model_type": "gptj", "n_embd": 512, "n_head": 4, "rotary_dim": null})");
  EXPECT_EQ(config_from_hf_json(dir).rotary_dim, 128);
  test::write_file(dir + "/config.json", R"({"model_type": "gptj", "n_embd": 512, "n_head": 4})");
  EXPECT_EQ(config_from_hf_json(dir).rotary_dim, 64);
  std::filesystem::remove_all(dir);
}

// Rotary scaling read from config.json, against values computed by hand from transformers'
// formulas (modeling_rope_utils.py); the fixtures of tests/lm/rope_scaling_test.cpp check the
// models against transformers itself.
class HfRopeScaling : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("rope-config-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A Llama-like config of head_dim 16 (8 frequencies) with these keys added.
  ModelConfig read(const std::string& model_type, const std::string& keys) {
    test::write_file(dir_ + "/config.json", R"({"model_type": ")" + model_type +
                                                R"(", "hidden_size": 64, "num_attention_heads": 4, )" + keys +
                                                "}");
    return config_from_hf_json(dir_);
  }

  static void expect_divisors(const ModelConfig& config, const std::vector<double>& expected) {
    ASSERT_EQ(config.rope_factor_count, static_cast<std::int64_t>(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(config.rope_divisors[i], expected[i], 1e-5) << "frequency " << i;
    }
  }

  std::string dir_;
};

TEST_F(HfRopeScaling, LinearDividesEveryFrequency) {
  const ModelConfig config = read("llama", R"("rope_scaling": {"type": "linear", "factor": 2.5})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  expect_divisors(config, std::vector<double>(8, 2.5));
  EXPECT_DOUBLE_EQ(config.rope_attention_factor, 1.0);
}

TEST_F(HfRopeScaling, Llama3KeepsHighFrequenciesAndSmoothsTheMiddle) {
  // theta 100: wavelengths 2 pi 100^(i / 8) = 6.3, 11.2, 19.9, 35.3, ... against 16 / 2 = 8 (kept
  // below) and 16 / 0.5 = 32 (divided by 4 above); between, 1 / ((1 - s) / 4 + s) with
  // s = (16 / wavelength - 0.5) / 1.5: 1.396657 and 2.483647.
  const ModelConfig config = read("llama", R"("rope_theta": 100, "rope_scaling": {"rope_type": "llama3",
      "factor": 4, "low_freq_factor": 0.5, "high_freq_factor": 2, "original_max_position_embeddings": 16})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  expect_divisors(config, {1, 1.396657, 2.483647, 4, 4, 4, 4, 4});
}

TEST_F(HfRopeScaling, YarnBlendsBetweenTheCorrectionDims) {
  // theta 1e4, original 16: correction dims 16 ln(16 / (2 pi beta)) / (2 ln 1e4) = -2.2 (beta 32,
  // floored to 0) and 0.81 (beta 1, ceiled to 1): frequency 0 kept, the others divided by 4; cos and
  // sin times 0.1 ln 4 + 1.
  ModelConfig config = read(
      "qwen3", R"("head_dim": 16, "num_key_value_heads": 4, "rope_scaling": {"rope_type": "yarn", "factor": 4,
      "original_max_position_embeddings": 16})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  expect_divisors(config, {1, 4, 4, 4, 4, 4, 4, 4});
  EXPECT_NEAR(config.rope_attention_factor, 1.1386294361, 1e-9);
  // beta_fast 2 / beta_slow 0.25 at theta 100: dims 0 and 5, a ramp over five frequencies
  // 1 / (r / 4 + 1 - r), r = i / 5.
  config = read("llama", R"("rope_theta": 100, "rope_scaling": {"rope_type": "yarn", "factor": 4,
      "beta_fast": 2, "beta_slow": 0.25, "original_max_position_embeddings": 16}, "max_position_embeddings": 64)");
  expect_divisors(config, {1, 1 / 0.85, 1 / 0.7, 1 / 0.55, 1 / 0.4, 4, 4, 4});
  // mscale / mscale_all_dim: (0.05 ln 4 + 1) / (0.1 ln 4 + 1); an explicit attention_factor wins.
  config = read("llama", R"("rope_scaling": {"rope_type": "yarn", "factor": 4, "mscale": 0.5,
      "mscale_all_dim": 1, "original_max_position_embeddings": 16})");
  EXPECT_NEAR(config.rope_attention_factor, 0.9391244281, 1e-9);
  config = read("llama", R"("rope_scaling": {"rope_type": "yarn", "factor": 4, "attention_factor": 1.5,
      "original_max_position_embeddings": 16})");
  EXPECT_DOUBLE_EQ(config.rope_attention_factor, 1.5);
}

TEST_F(HfRopeScaling, DynamicAndLongropeKeepTheirContexts) {
  ModelConfig config = read("llama", R"("max_position_embeddings": 16,
      "rope_scaling": {"rope_type": "dynamic", "factor": 3})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::Dynamic);
  EXPECT_EQ(config.rope_original_max_positions, 16);
  EXPECT_DOUBLE_EQ(config.rope_scaling_factor, 3.0);
  // Phi-3: "su" is longrope; factor 64 / 16 gives cos and sin times sqrt(1 + ln 4 / ln 16).
  config = read("phi3", R"("max_position_embeddings": 64, "original_max_position_embeddings": 16,
      "rope_scaling": {"type": "su", "short_factor": [1, 1, 1, 1, 1, 1, 1, 2],
                       "long_factor": [1, 2, 3, 4, 5, 6, 7, 8]})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::LongRope);
  EXPECT_EQ(config.rope_original_max_positions, 16);
  EXPECT_NEAR(config.rope_attention_factor, 1.2247448714, 1e-9);
  EXPECT_EQ(config.rope_divisors[7], 2.0F);
  EXPECT_EQ(config.rope_long_divisors[7], 8.0F);
}

TEST_F(HfRopeScaling, Gemma3ScalesOnlyItsGlobalTable) {
  const ModelConfig config = read("gemma3_text", R"("head_dim": 16, "rope_theta": 1e6,
      "rope_local_base_freq": 1e4, "rope_scaling": {"rope_type": "linear", "factor": 8})");
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  expect_divisors(config, std::vector<double>(8, 8.0));
  EXPECT_DOUBLE_EQ(config.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(config.rope_local_theta, 1e4);
}

TEST(GgufConfig, TinyGpt2CountsTheVocabularyAndSeesTheHead) {
  const auto gguf = io::GgufFile::open(test::fixture("io/tiny_gpt2.gguf"));
  const ModelConfig config = config_from_gguf(gguf);
  EXPECT_EQ(config.family, Family::GPT2);
  EXPECT_EQ(config.n_layer, 2);
  EXPECT_EQ(config.hidden_size, 8);
  EXPECT_EQ(config.n_head, 2);
  EXPECT_EQ(config.n_kv_head, 2);
  EXPECT_EQ(config.head_dim, 4);
  EXPECT_EQ(config.intermediate_size, 32);
  EXPECT_EQ(config.max_positions, 32);
  EXPECT_DOUBLE_EQ(config.norm_eps, static_cast<double>(1e-5F));
  EXPECT_EQ(config.vocab_size, 10);  // from tokenizer.ggml.tokens
  EXPECT_FALSE(config.tie_word_embeddings);
  EXPECT_EQ(config.rotary_dim, 0);
  EXPECT_EQ(config.bos_token_id, 9);
  EXPECT_EQ(config.eos_token_id, 9);
  EXPECT_EQ(config.pad_token_id, -1);
}

TEST(GgufConfig, DefaultSmolLM2) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const auto gguf = io::GgufFile::open(path);
  const ModelConfig config = config_from_gguf(gguf);
  EXPECT_EQ(config.family, Family::Llama);
  EXPECT_EQ(config.n_layer, 30);
  EXPECT_EQ(config.hidden_size, 576);
  EXPECT_EQ(config.n_head, 9);
  EXPECT_EQ(config.n_kv_head, 3);
  EXPECT_EQ(config.head_dim, 64);
  EXPECT_EQ(config.intermediate_size, 1536);
  EXPECT_EQ(config.vocab_size, 49152);
  EXPECT_EQ(config.max_positions, 8192);
  EXPECT_EQ(config.rotary_dim, 64);
  EXPECT_DOUBLE_EQ(config.rope_theta, 100000.0);
  EXPECT_DOUBLE_EQ(config.norm_eps, static_cast<double>(1e-5F));
  EXPECT_EQ(config.activation, Activation::Silu);
  EXPECT_TRUE(config.tie_word_embeddings);
  EXPECT_FALSE(config.attention_bias);
  EXPECT_FALSE(config.mlp_bias);
  EXPECT_EQ(config.bos_token_id, 1);
  EXPECT_EQ(config.eos_token_id, 2);
  EXPECT_EQ(config.pad_token_id, 2);
  std::int64_t stored = 0;
  for (const auto& view : gguf.tensors()) stored += view.numel();
  EXPECT_EQ(parameter_count(config), stored);
  EXPECT_EQ(stored, 134515008);
}

class GgufConfigErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("gguf-config-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void expect_rejected(const test::GgufBuilder& builder, const std::string& field,
                       const std::string& reason) {
    const std::string path = dir_ + "/m.gguf";
    test::write_file(path, builder.build());
    const auto gguf = io::GgufFile::open(path);
    test::expect_error([&] { config_from_gguf(gguf); }, path, field, reason);
  }

  static test::GgufBuilder llama(std::uint32_t heads, std::uint32_t kv_heads) {
    test::GgufBuilder builder;
    builder.add_string("general.architecture", "llama");
    builder.add_u32("llama.block_count", 2);
    builder.add_u32("llama.embedding_length", 64);
    builder.add_u32("llama.attention.head_count", heads);
    builder.add_u32("llama.attention.head_count_kv", kv_heads);
    builder.add_u32("llama.context_length", 128);
    builder.add_u32("llama.feed_forward_length", 96);
    builder.add_kv("llama.attention.layer_norm_rms_epsilon", 6, test::GgufBuilder::pod(1e-5F));
    return builder;
  }

  // A 1-D F32 tensor appended to the data section (tensors added in order, each 32-byte aligned).
  static void add_f32_tensor(test::GgufBuilder& builder, const std::string& name,
                             const std::vector<float>& values) {
    builder.data.append((32 - builder.data.size() % 32) % 32, '\0');
    builder.add_tensor(name, {values.size()}, 0, builder.data.size());
    builder.data.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }

  ModelConfig read(const test::GgufBuilder& builder) {
    const std::string path = dir_ + "/m.gguf";
    test::write_file(path, builder.build());
    return config_from_gguf(io::GgufFile::open(path));
  }

  std::string dir_;
};

TEST_F(GgufConfigErrors, MissingOrInvalidKeys) {
  test::GgufBuilder builder;
  expect_rejected(builder, "general.architecture", "missing metadata key");
  builder.add_string("general.architecture", "mamba");
  expect_rejected(
      builder, "general.architecture",
      "unsupported architecture 'mamba' (gpt2, gptj, gptneox, llama, qwen2, qwen3, olmo2, gemma2, gemma3, "
      "phi3)");

  test::GgufBuilder gpt2;
  gpt2.add_string("general.architecture", "gpt2");
  expect_rejected(gpt2, "gpt2.block_count", "missing metadata key");
  gpt2.add_string("gpt2.block_count", "two");
  expect_rejected(gpt2, "gpt2.block_count", "expected an integer, found string");

  expect_rejected(llama(8, 3), "llama.attention.head_count_kv",
                  "8 heads cannot be shared evenly by 3 key/value heads");
  expect_rejected(llama(0, 1), "llama.attention.head_count", "must be positive, got 0");
  expect_rejected(llama(6, 3), "llama.attention.head_count", "hidden size 64 is not divisible by 6 heads");
  expect_rejected(llama(4, 2), "llama.vocab_size", "missing, and no tokenizer.ggml.tokens to count");
  test::GgufBuilder scaled = llama(4, 2);
  scaled.add_u32("llama.vocab_size", 100);
  scaled.add_string("llama.rope.scaling.type", "ntk");
  expect_rejected(scaled, "llama.rope.scaling.type",
                  "rope scaling 'ntk' is not supported (none, linear, yarn, longrope)");
  test::GgufBuilder half_longrope = llama(4, 2);
  half_longrope.add_u32("llama.vocab_size", 100);
  add_f32_tensor(half_longrope, "rope_factors_long.weight", std::vector<float>(8, 2.0F));
  expect_rejected(half_longrope, "rope_factors_short.weight", "missing (longrope needs both factor tensors)");
  test::GgufBuilder short_freqs = llama(4, 2);
  short_freqs.add_u32("llama.vocab_size", 100);
  add_f32_tensor(short_freqs, "rope_freqs.weight", std::vector<float>(5, 2.0F));
  expect_rejected(short_freqs, "rope_freqs.weight", "expected 8 float factors (rope.dimension_count / 2)");
  test::GgufBuilder odd_rope = llama(4, 2);
  odd_rope.add_u32("llama.vocab_size", 100);
  odd_rope.add_u32("llama.rope.dimension_count", 17);
  expect_rejected(odd_rope, "llama.rope.dimension_count", "rotary dimension 17 must be even and in 2..16");
}

TEST_F(GgufConfigErrors, MinimalLlamaUsesDefaults) {
  test::GgufBuilder builder = llama(4, 2);
  builder.add_u32("llama.vocab_size", 100);
  const std::string path = dir_ + "/m.gguf";
  test::write_file(path, builder.build());
  const ModelConfig config = config_from_gguf(io::GgufFile::open(path));
  EXPECT_EQ(config.intermediate_size, 96);
  EXPECT_EQ(config.rotary_dim, 16);
  EXPECT_DOUBLE_EQ(config.rope_theta, 10000.0);
  EXPECT_TRUE(config.tie_word_embeddings);
  EXPECT_EQ(config.bos_token_id, -1);
  EXPECT_EQ(config.rope_scaling, RopeScaling::None);
}

// Rotary scaling as llama.cpp reads it from GGUF (values by hand, as HfRopeScaling's).
TEST_F(GgufConfigErrors, RopeScalingKeysAndFactorTensors) {
  const auto f32 = [](float value) { return test::GgufBuilder::pod(value); };
  // A factor without a type is linear (llama.cpp's default type); the type none ignores it.
  test::GgufBuilder linear = llama(4, 2);
  linear.add_u32("llama.vocab_size", 100);
  linear.add_kv("llama.rope.scaling.factor", 6, f32(2.5F));
  ModelConfig config = read(linear);
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  EXPECT_EQ(config.rope_factor_count, 8);
  EXPECT_EQ(config.rope_divisors[7], 2.5F);
  linear.add_string("llama.rope.scaling.type", "none");
  EXPECT_EQ(read(linear).rope_scaling, RopeScaling::None);
  // YaRN: theta 1e4, original 16, the default betas: frequency 0 kept, the others divided by 4, cos
  // and sin times 0.1 ln 4 + 1 (times attn_factor 2).
  test::GgufBuilder yarn = llama(4, 2);
  yarn.add_u32("llama.vocab_size", 100);
  yarn.add_string("llama.rope.scaling.type", "yarn");
  yarn.add_kv("llama.rope.scaling.factor", 6, f32(4.0F));
  yarn.add_u32("llama.rope.scaling.original_context_length", 16);
  yarn.add_kv("llama.rope.scaling.attn_factor", 6, f32(2.0F));
  yarn.add_kv("llama.rope.scaling.yarn_attn_factor", 6, f32(7.0F));  // ignored, as llama.cpp does
  config = read(yarn);
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  EXPECT_EQ(config.rope_divisors[0], 1.0F);
  EXPECT_EQ(config.rope_divisors[1], 4.0F);
  EXPECT_NEAR(config.rope_attention_factor, 2 * 1.1386294361, 1e-6);
  // Llama 3's rope_freqs tensor holds the divisors.
  test::GgufBuilder llama3 = llama(4, 2);
  llama3.add_u32("llama.vocab_size", 100);
  add_f32_tensor(llama3, "rope_freqs.weight", {1, 1.5F, 2, 4, 4, 4, 4, 4});
  config = read(llama3);
  EXPECT_EQ(config.rope_scaling, RopeScaling::Fixed);
  EXPECT_EQ(config.rope_divisors[1], 1.5F);
  EXPECT_EQ(config.rope_divisors[7], 4.0F);
  // Phi-3's converter: no type, the factor tensors, the original context and attn_factor.
  test::GgufBuilder longrope = llama(4, 2);
  longrope.add_u32("llama.vocab_size", 100);
  longrope.add_u32("llama.rope.scaling.original_context_length", 32);
  longrope.add_kv("llama.rope.scaling.attn_factor", 6, f32(1.25F));
  add_f32_tensor(longrope, "rope_factors_long.weight", {1, 2, 3, 4, 5, 6, 7, 8});
  add_f32_tensor(longrope, "rope_factors_short.weight", {1, 1, 1, 1, 1, 1, 1, 2});
  config = read(longrope);
  EXPECT_EQ(config.rope_scaling, RopeScaling::LongRope);
  EXPECT_EQ(config.rope_original_max_positions, 32);
  EXPECT_DOUBLE_EQ(config.rope_attention_factor, 1.25);
  EXPECT_EQ(config.rope_long_divisors[7], 8.0F);
  EXPECT_EQ(config.rope_divisors[7], 2.0F);
}

}  // namespace
}  // namespace remedi::lm
