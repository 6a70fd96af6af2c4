// Rotary scaling against HF transformers: one tiny random checkpoint per scaling type
// (tests/fixtures/lm/rope, written by tests/reference/make_rope_fixtures.py) whose original context
// (16) the "long" prompts pass and the "short" ones reach only while decoding; logits and the
// KV-cached greedy continuation from the HF folder and from the GGUF file llama.cpp's converter
// would write (rope.scaling.* keys, rope_freqs / rope_factors_* tensors).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "lm/generate.h"
#include "lm/model.h"
#include "lm/rope_scaling.h"
#include "reference.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

using test::scaled_diff_at;

class RopeScalingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    folder_ = test::fixture("lm/rope/" + GetParam());
    ref_ = test::load_reference(folder_ + "/reference.safetensors");
  }

  // Logits of both batches and the greedy continuations of `path` against transformers'.
  void expect_transformers_outputs(const std::string& path) const {
    torch::NoGradGuard no_grad;
    const auto model = CausalLM::load(path);
    for (const std::string batch : {"long", "short"}) {
      SCOPED_TRACE(batch);
      const Batch inputs{ref_.at("input_ids_" + batch), ref_.at("attention_mask_" + batch)};
      const torch::Tensor logits = model->forward(inputs).logits;
      EXPECT_LE(scaled_diff_at(logits, ref_.at("logits_" + batch), inputs.attention_mask), 1e-4);
      GenerateOptions options;
      const torch::Tensor& expected = ref_.at("greedy_" + batch);
      options.max_new_tokens = expected.size(1);
      const torch::Tensor tokens = generate(*model, inputs, options).tokens;
      EXPECT_TRUE(torch::equal(tokens, expected)) << tokens << "\nexpected\n" << expected;
    }
  }

  std::string folder_;
  std::map<std::string, torch::Tensor> ref_;
};

TEST_P(RopeScalingTest, HfFolderMatchesTransformers) {
  const auto model = CausalLM::load(folder_);
  EXPECT_NE(model->config().rope_scaling, RopeScaling::None);
  expect_transformers_outputs(folder_);
}

TEST_P(RopeScalingTest, GgufFileMatchesTransformers) {
  const std::string path = folder_ + "/model.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "llama.cpp has no " << GetParam() << " scaling";
  expect_transformers_outputs(path);
}

// The scaling is what makes the long prompts right: the same weights unscaled miss by far.
TEST_P(RopeScalingTest, UnscaledModelDiffers) {
  torch::NoGradGuard no_grad;
  const auto model = CausalLM::load(folder_);
  ModelConfig plain = model->config();
  plain.rope_scaling = RopeScaling::None;
  const CausalLM unscaled(plain, model->weights(), LoadOptions{}, folder_);
  const Batch inputs{ref_.at("input_ids_long"), ref_.at("attention_mask_long")};
  EXPECT_GT(scaled_diff_at(unscaled.forward(inputs).logits, ref_.at("logits_long"), inputs.attention_mask),
            1e-2);
}

INSTANTIATE_TEST_SUITE_P(Types, RopeScalingTest,
                         ::testing::Values("llama3", "linear", "dynamic", "yarn", "gemma3", "longrope"));

// Dynamic NTK scaling grows the base with the forward's length past max_position_embeddings
// (16 here): theta (factor L / 16 - (factor - 1))^(d / (d - 2)); within it, nothing changes.
TEST(RotaryFrequencies, DynamicBaseGrowsWithTheLength) {
  ModelConfig config;
  config.rotary_dim = 16;
  config.rope_scaling = RopeScaling::Dynamic;
  config.rope_scaling_factor = 3.0;
  config.rope_original_max_positions = 16;
  EXPECT_DOUBLE_EQ(rotary_frequencies(config, 100.0, 16, true).theta, 100.0);
  // 100 * (3 * 20 / 16 - 2)^(16 / 14), by hand
  EXPECT_NEAR(rotary_frequencies(config, 100.0, 20, true).theta, 189.5648318, 1e-6);
  EXPECT_DOUBLE_EQ(rotary_frequencies(config, 100.0, 20, false).theta, 100.0);
  EXPECT_TRUE(rotary_frequencies(config, 100.0, 20, true).divisors.empty());
}

}  // namespace
}  // namespace remedi::lm
