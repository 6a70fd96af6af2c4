// Generation for the evaluation benchmarks (METHOD §8.1, §8.4) on the default model: a left-padded
// batch gives each row's one-row generation, and the edit lands on the entity's last token of the
// prompt, checked against lm::generate with an intervention placed by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/generate.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/generation.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi {
namespace {

data::MediationSample sample(const std::string& id, const std::string& entity, const std::string& context,
                             const std::string& attribute, const std::string& prompt) {
  data::MediationSample s;
  s.id = id;
  s.entity = entity;
  s.context = context;
  s.attribute = attribute;
  s.prompt = prompt;
  s.target_mediated = "x";
  return s;
}

class GenerationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::default_model_path();
    if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
    model_ = lm::CausalLM::load(path);
    tokenizer_ = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(path));
    rows_ = {sample("0", "Danielle Darrieux", "The mother tongue of Danielle Darrieux is English",
                    "is English", "Danielle Darrieux was born in a country whose language is"),
             sample("1", "Paris", "Paris is the capital of Italy", "is the capital of Italy",
                    "The most famous landmark of Paris is"),
             sample("2", "Toko Yasuda", "Toko Yasuda plays the piano", "plays the piano", "Toko Yasuda")};
  }

  // One row alone, greedy, with `direction` (undefined: none) added at its entity's last token.
  std::string one_row(const data::MediationSample& row, const torch::Tensor& direction, std::int64_t layer,
                      std::int64_t max_length) {
    const tok::Encoding encoding = tokenizer_->encode(row.prompt);
    lm::GenerateOptions options;
    options.max_length = max_length;
    options.eos_id = tokenizer_->eos_id();
    options.pad_id = tokenizer_->pad_id();
    if (direction.defined()) {
      const tok::TokenRange entity = tok::token_range(encoding.offsets, row.prompt, row.entity);
      options.interventions.push_back(
          {layer, direction.unsqueeze(0), torch::tensor({entity.end - 1, entity.end}).view({1, 2})});
    }
    // The same budget as in the batch: max_length minus the batch's widest prompt.
    const torch::Tensor tokens =
        lm::generate(*model_, {torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()}, options).tokens[0];
    std::vector<std::int64_t> ids = encoding.ids;
    for (std::int64_t t = 0; t < tokens.size(0); ++t) ids.push_back(tokens[t].item<std::int64_t>());
    return tokenizer_->decode(ids, true);
  }

  std::int64_t widest() const {
    std::int64_t width = 0;
    for (const auto& row : rows_)
      width = std::max(width, static_cast<std::int64_t>(tokenizer_->encode(row.prompt).ids.size()));
    return width;
  }

  std::unique_ptr<lm::CausalLM> model_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  std::vector<data::MediationSample> rows_;
};

TEST_F(GenerationTest, GreedyBatchEqualsOneRowGenerations) {
  torch::NoGradGuard no_grad;
  GenerationOptions options;
  options.top_k = 0;
  options.max_length = 24;
  const std::vector<std::string> texts = generate_texts(*model_, *tokenizer_, nullptr, rows_, options);
  ASSERT_EQ(texts.size(), 3U);
  // every row gets max_length minus the widest prompt new tokens (METHOD Q12), as one-row runs with the
  // same number of new tokens
  const std::int64_t budget = options.max_length - widest();
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const std::int64_t own = static_cast<std::int64_t>(tokenizer_->encode(rows_[i].prompt).ids.size());
    EXPECT_EQ(texts[i], one_row(rows_[i], torch::Tensor(), 0, own + budget)) << i;
    EXPECT_TRUE(texts[i].starts_with(rows_[i].prompt)) << texts[i];
  }
}

TEST_F(GenerationTest, TheEditLandsOnTheEntitysLastToken) {
  torch::NoGradGuard no_grad;
  EditorConfig config;
  config.type = "identity";  // direction = the attribute's representation
  config.layer = 4;
  config.hidden_size = model_->config().hidden_size;
  const auto editor = make_editor(config, 0);
  GenerationOptions options;
  options.top_k = 0;
  options.max_length = 24;
  const std::vector<std::string> edited = generate_texts(*model_, *tokenizer_, editor.get(), rows_, options);
  const std::vector<std::string> plain = generate_texts(*model_, *tokenizer_, nullptr, rows_, options);
  PrecomputeOptions precompute;
  precompute.layer = 4;
  const EditorInputs inputs = precompute_editor_inputs(*model_, *tokenizer_, rows_, precompute);
  const std::int64_t budget = options.max_length - widest();
  bool any_change = false;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const std::int64_t own = static_cast<std::int64_t>(tokenizer_->encode(rows_[i].prompt).ids.size());
    const torch::Tensor direction = inputs.attribute_average[static_cast<std::int64_t>(i)];
    EXPECT_EQ(edited[i], one_row(rows_[i], direction, 4, own + budget)) << i;
    any_change = any_change || edited[i] != plain[i];
  }
  EXPECT_TRUE(any_change);
}

TEST_F(GenerationTest, SamplingIsSeededAndAPromptWithoutTheEntityIsNamed) {
  torch::NoGradGuard no_grad;
  GenerationOptions options;
  options.max_length = 20;
  EXPECT_EQ(generate_texts(*model_, *tokenizer_, nullptr, rows_, options),
            generate_texts(*model_, *tokenizer_, nullptr, rows_, options));
  EditorConfig config;
  config.type = "identity";
  config.layer = 2;
  config.hidden_size = model_->config().hidden_size;
  const auto editor = make_editor(config, 0);
  std::vector<data::MediationSample> rows = rows_;
  rows[1].prompt = "Nothing about the city here";
  try {
    generate_texts(*model_, *tokenizer_, editor.get(), rows, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 1 prompt"), std::string::npos) << e.what();
  }
  options.allow_missing_entity = true;
  EXPECT_EQ(generate_texts(*model_, *tokenizer_, editor.get(), rows, options).size(), 3U);
}

TEST(GenerationContext, APromptLongerThanTheContextIsRefused) {
  // Prompts are never cut; one over the model's context (128 tokens for the tiny GPT-2) is named
  // before any forward pass, even where an over-long batch would get its one token.
  torch::NoGradGuard no_grad;
  const auto model = lm::CausalLM::load(test::fixture("lm/gpt2"));
  const tok::Tokenizer tokenizer = tok::Tokenizer::from_hf_json(test::fixture("lm/tokenizer.json"));
  std::vector<data::MediationSample> rows = {
      sample("0", "rome", "rome is in spain", "is in spain", "rome is in"),
      sample("1", "rome", "rome is in spain", "is in spain", "rome")};
  for (int i = 0; i < 150; ++i) rows[1].prompt += " and";
  const auto tokens = static_cast<std::int64_t>(tokenizer.encode(rows[1].prompt).ids.size());
  ASSERT_GT(tokens, 128);
  GenerationOptions options;
  options.overlong_one_token = true;
  try {
    generate_texts(*model, tokenizer, nullptr, rows, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "<data>");
    EXPECT_EQ(e.field(), "sample 1 prompt");
    EXPECT_EQ(e.reason(), "has " + std::to_string(tokens) + " tokens, more than the model's context of 128");
  }
}

}  // namespace
}  // namespace remedi
