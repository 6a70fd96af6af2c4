// Tokenizers against HF `tokenizers` outputs (tests/reference/make_tokenizer_fixtures.py): the
// SmolLM2 tokenizer loaded from the default GGUF on >= 1,000 varied strings, and small
// tokenizer.json files covering each supported pipeline element.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "test_support.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::tok {
namespace {

struct Expected {
  std::string variant;
  std::string text;
  std::vector<std::int64_t> ids;
  std::vector<Offset> offsets;
  std::string decoded;
};

std::vector<Expected> read_expected(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::vector<Expected> records;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    Expected expected;
    expected.variant = record.value("v", "");
    expected.text = record.at("t").get<std::string>();
    expected.ids = record.at("i").get<std::vector<std::int64_t>>();
    const auto flat = record.at("o").get<std::vector<std::int64_t>>();
    for (std::size_t k = 0; k + 1 < flat.size(); k += 2) expected.offsets.push_back({flat[k], flat[k + 1]});
    expected.decoded = record.value("d", expected.text);
    records.push_back(std::move(expected));
  }
  return records;
}

TEST(SmolLM2Tokenizer, MatchesHuggingFaceOnEveryFixtureString) {
  const std::string model = test::default_model_path();
  if (model.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const Tokenizer tokenizer = Tokenizer::from_gguf(io::GgufFile::open(model));
  EXPECT_EQ(tokenizer.vocab_size(), 49152);
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.pad_id(), 2);
  EXPECT_TRUE(tokenizer.is_special(1));
  const std::vector<Expected> records = read_expected(test::fixture("tok/smollm2_expected.jsonl"));
  ASSERT_GE(records.size(), 1000U);
  std::size_t matching = 0;
  for (const Expected& expected : records) {
    const Encoding encoding = tokenizer.encode(expected.text);
    EXPECT_EQ(encoding.ids, expected.ids) << "text: \"" << expected.text << "\"";
    EXPECT_EQ(encoding.offsets, expected.offsets) << "text: \"" << expected.text << "\"";
    EXPECT_EQ(tokenizer.decode(encoding.ids), expected.decoded) << "text: \"" << expected.text << "\"";
    matching += encoding.ids == expected.ids && encoding.offsets == expected.offsets ? 1 : 0;
  }
  EXPECT_EQ(matching, records.size());
}

TEST(SmolLM2Tokenizer, LoadDispatchesOnTheGgufMagic) {
  const std::string model = test::default_model_path();
  if (model.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const Tokenizer tokenizer = Tokenizer::load(model);
  // HF tokenizers on the rebuilt SmolLM2 tokenizer: the digits are split one by one, the space alone.
  const Encoding encoding = tokenizer.encode("<|im_start|>user\nHi 42");
  EXPECT_EQ(encoding.ids, (std::vector<std::int64_t>{1, 4093, 198, 26843, 216, 36, 34}));
  EXPECT_EQ(encoding.offsets,
            (std::vector<Offset>{{0, 12}, {12, 16}, {16, 17}, {17, 19}, {19, 20}, {20, 21}, {21, 22}}));
}

TEST(TokenizerJson, EveryVariantMatchesHuggingFace) {
  const std::vector<Expected> records = read_expected(test::fixture("tok/tiny_expected.jsonl"));
  ASSERT_FALSE(records.empty());
  std::string loaded_variant;
  std::optional<Tokenizer> tokenizer;
  for (const Expected& expected : records) {
    if (expected.variant != loaded_variant) {
      tokenizer.emplace(Tokenizer::load(test::fixture("tok/tiny_" + expected.variant)));
      loaded_variant = expected.variant;
    }
    const Encoding encoding = tokenizer->encode(expected.text);
    EXPECT_EQ(encoding.ids, expected.ids) << expected.variant << ": \"" << expected.text << "\"";
    EXPECT_EQ(encoding.offsets, expected.offsets) << expected.variant << ": \"" << expected.text << "\"";
    EXPECT_EQ(tokenizer->decode(encoding.ids), expected.decoded) << expected.variant;
  }
}

TEST(TokenizerJson, SpecialIdsComeFromTheFolder) {
  const Tokenizer llama = Tokenizer::load(test::fixture("tok/tiny_llama3"));
  EXPECT_EQ(llama.bos_id(), *llama.token_id("<|begin_of_text|>"));
  EXPECT_EQ(llama.eos_id(), *llama.token_id("<|eot_id|>"));
  EXPECT_EQ(llama.pad_id(), llama.eos_id());
  const Tokenizer gpt2 = Tokenizer::from_hf_json(test::fixture("tok/tiny_gpt2/tokenizer.json"));
  EXPECT_EQ(gpt2.eos_id(), *gpt2.token_id("<|endoftext|>"));  // <|endoftext|> by default
  EXPECT_TRUE(gpt2.is_special(*gpt2.token_id("[MASK]")));
  EXPECT_FALSE(gpt2.is_special(*gpt2.token_id("<sep>")));
  const std::vector<std::int64_t> ids = gpt2.encode("a [MASK] b").ids;
  EXPECT_EQ(gpt2.decode(ids, /*skip_special_tokens=*/true), "a b");
}

}  // namespace
}  // namespace remedi::tok
