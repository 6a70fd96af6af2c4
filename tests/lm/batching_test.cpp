// lm::encode_batch (lm/batching.h) encodes texts as a model's input: with the BOS/EOS the tokenizer adds
// (Gemma's "<bos> $A", a "<bos> $A <eos>" template), nothing for a GPT-2-style file; left padding puts
// the pads before the BOS; truncation keeps the suffix, as HF's does.
#include "lm/batching.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"

namespace remedi::lm {
namespace {

TEST(EncodeBatch, RowsGetTheTokenizersBosAndLeftPadsGoBeforeIt) {
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(test::fixture("tok_families/gemma"));
  const std::vector<std::string> texts = {"Hello", "Hello world is nice"};
  const EncodedBatch batch = encode_batch(tokenizer, texts, PaddingSide::Left);
  const std::int64_t width = batch.batch.input_ids.size(1);
  for (std::size_t row = 0; row < texts.size(); ++row) {
    const tok::Encoding plain = tokenizer.encode(texts[row]);
    EXPECT_EQ(batch.lengths[row], static_cast<std::int64_t>(plain.ids.size()) + 1);
    EXPECT_EQ(batch.encodings[row].ids.front(), 2);
    EXPECT_EQ(batch.encodings[row].offsets.front(), (tok::Offset{0, 0}));
    const auto r = static_cast<std::int64_t>(row);
    EXPECT_EQ(batch.column(row, 0), width - batch.lengths[row]);
    EXPECT_EQ(batch.batch.input_ids[r][batch.column(row, 0)].item<std::int64_t>(), 2);
    EXPECT_EQ(batch.batch.attention_mask[r].sum().item<std::int64_t>(), batch.lengths[row]);
    // The entity at character 0 is the text's first token, one column after the BOS.
    const tok::TokenRange range = tok::token_range(batch.encodings[row].offsets, texts[row], "Hello");
    EXPECT_EQ(range.begin, 1);
    EXPECT_EQ(batch.batch.input_ids[r][batch.column(row, range.begin)].item<std::int64_t>(),
              plain.ids.front());
  }
}

TEST(EncodeBatch, TruncationKeepsTheAddedSuffix) {
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(test::fixture("tok_families/metaspace_split"));
  ASSERT_EQ(tokenizer.special_suffix(), std::vector<std::int64_t>{1});
  const std::string text = "Hello world is nice";
  const tok::Encoding full = tokenizer.encode(text, true);
  ASSERT_GT(full.ids.size(), 4U);
  const EncodedBatch batch = encode_batch(tokenizer, {text}, PaddingSide::Right, 4);
  EXPECT_EQ(batch.full_lengths[0], static_cast<std::int64_t>(full.ids.size()));
  EXPECT_EQ(batch.lengths[0], 4);
  EXPECT_EQ(batch.encodings[0].ids, (std::vector<std::int64_t>{2, full.ids[1], full.ids[2], 1}));
  EXPECT_EQ(batch.encodings[0].offsets,
            (std::vector<tok::Offset>{{0, 0}, full.offsets[1], full.offsets[2], {0, 0}}));
  for (std::int64_t t = 0; t < 4; ++t) {
    EXPECT_EQ(batch.batch.input_ids[0][t].item<std::int64_t>(),
              batch.encodings[0].ids[static_cast<std::size_t>(t)]);
  }
}

TEST(EncodeBatch, AGpt2StyleTokenizerAddsNothing) {
  const tok::Tokenizer tokenizer = tok::Tokenizer::from_hf_json(test::fixture("lm/tokenizer.json"));
  const std::vector<std::string> texts = {"we met anna in rome", "anna"};
  const EncodedBatch batch = encode_batch(tokenizer, texts, PaddingSide::Right);
  for (std::size_t row = 0; row < texts.size(); ++row) {
    const tok::Encoding plain = tokenizer.encode(texts[row]);
    EXPECT_EQ(batch.encodings[row].ids, plain.ids);
    EXPECT_EQ(batch.encodings[row].offsets, plain.offsets);
  }
}

}  // namespace
}  // namespace remedi::lm
