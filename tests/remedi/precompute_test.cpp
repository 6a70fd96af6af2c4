// Editor inputs (METHOD §5.2) on the default model: they equal the block outputs of a full forward at
// the located tokens, the disk cache returns the same bits, and a missing attribute is named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "io/expect_error.h"
#include "lm/model.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tok/tokenizer.h"

namespace remedi {
namespace {

class PrecomputeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::default_model_path();
    if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
    model_ = lm::CausalLM::load(path);
    tokenizer_ = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(path));
  }
  static data::MediationSample sample(const std::string& entity, const std::string& context,
                                      const std::string& attribute) {
    data::MediationSample s;
    s.id = entity;
    s.entity = entity;
    s.context = context;
    s.attribute = attribute;
    return s;
  }
  // Block `layer` output of `text` alone, every layer computed, (T, H).
  torch::Tensor full_forward(const std::string& text, std::int64_t layer) {
    const tok::Encoding encoding = tokenizer_->encode(text);
    lm::ForwardOptions options;
    options.capture_layers = {layer};
    options.logits = lm::LogitsAt::None;
    return model_->forward({torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()}, options)
        .hidden.at(layer)[0];
  }
  std::unique_ptr<lm::CausalLM> model_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
};

TEST_F(PrecomputeTest, InputsAreTheLayerOutputsAtTheLocatedTokens) {
  torch::NoGradGuard no_grad;
  const std::vector<data::MediationSample> samples = {
      sample("Danielle Darrieux", "The mother tongue of Danielle Darrieux is English", "is English"),
      sample("Paris", "Paris is the capital of Italy", "is the capital of Italy")};
  PrecomputeOptions options;
  options.layer = 3;
  const EditorInputs inputs = precompute_editor_inputs(*model_, *tokenizer_, samples, options);
  ASSERT_EQ(inputs.size(), 2);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    const torch::Tensor entity = full_forward(samples[i].entity, 3);  // the whole string is the entity
    EXPECT_TRUE(torch::allclose(inputs.entity_last[row], entity[-1], 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(inputs.entity_average[row], entity.mean(0), 1e-4, 1e-4));
    const torch::Tensor context = full_forward(samples[i].context, 3);
    const std::vector<std::int64_t> ids = tokenizer_->encode(samples[i].context).ids;
    const std::int64_t attribute_tokens =
        static_cast<std::int64_t>(tokenizer_->encode(" " + samples[i].attribute).ids.size());
    const auto length = static_cast<std::int64_t>(ids.size());
    // the attribute is the context's tail, so its tokens are the last ones
    EXPECT_TRUE(torch::allclose(inputs.attribute_last[row], context[-1], 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(inputs.attribute_average[row],
                                context.slice(0, length - attribute_tokens, length).mean(0), 1e-4, 1e-4));
  }
}

TEST_F(PrecomputeTest, DiskCacheReturnsTheSameBits) {
  const std::string dir = test::temp_dir("precompute_cache");
  const std::vector<data::MediationSample> samples = {sample("Rome", "Rome is in Spain", "is in Spain")};
  PrecomputeOptions options;
  options.layer = 2;
  options.cache_dir = dir;
  const EditorInputs first = precompute_editor_inputs(*model_, *tokenizer_, samples, options);
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
            1);
  const EditorInputs cached = precompute_editor_inputs(*model_, *tokenizer_, samples, options);
  EXPECT_TRUE(torch::equal(first.attribute_average, cached.attribute_average));
  EXPECT_TRUE(torch::equal(first.entity_last, cached.entity_last));
  options.layer = 3;  // another key
  precompute_editor_inputs(*model_, *tokenizer_, samples, options);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
            2);
  std::filesystem::remove_all(dir);
}

TEST_F(PrecomputeTest, MissingAttributeIsNamed) {
  const std::vector<data::MediationSample> samples = {sample("Rome", "Rome is in Spain", "is in France")};
  test::expect_error_containing([&] { precompute_editor_inputs(*model_, *tokenizer_, samples, {}); },
                                "<data>", "sample Rome attribute", "is in France");
}

TEST(PrecomputeContext, AnAttributeCutOffByTheContextIsNamedAsSuch) {
  // Contexts are cut to the model's context as in the original (128 tokens for the tiny GPT-2);
  // when the cut removes the attribute the error says so, not "no token covers characters".
  const auto model = lm::CausalLM::load(test::fixture("lm/gpt2"));
  const tok::Tokenizer tokenizer = tok::Tokenizer::from_hf_json(test::fixture("lm/tokenizer.json"));
  data::MediationSample s;
  s.id = "7";
  s.entity = "rome";
  s.context = "rome";
  for (int i = 0; i < 150; ++i) s.context += " and";
  s.context += " in spain";
  s.attribute = "in spain";
  const auto tokens = static_cast<std::int64_t>(tokenizer.encode(s.context).ids.size());
  ASSERT_GT(tokens, 128);
  test::expect_error(
      [&] { precompute_editor_inputs(*model, tokenizer, {s}, {}); }, "<data>", "sample 7 attribute",
      "the context has " + std::to_string(tokens) +
          " tokens and the attribute is not within the first 128 that the model's context holds");
}

TEST_F(PrecomputeTest, FirstTokenIdReadsTheSpacedWord) {
  EXPECT_EQ(first_token_id(*tokenizer_, "Paris", "target"), tokenizer_->encode(" Paris").ids.front());
}

}  // namespace
}  // namespace remedi
