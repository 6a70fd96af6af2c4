// make_edit_batch (remedi/edit_batch.h) with the fixture tokenizer: the edit range is the entity's
// last token, counted by hand, and a prompt cut to the context before its entity is named as such; with
// a tokenizer that adds a BOS (Gemma's template), every entity's tokens move one on, the one at
// character 0 included.
#include "remedi/edit_batch.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/expect_error.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"

namespace remedi {
namespace {

tok::Tokenizer fixture_tokenizer() {
  return tok::Tokenizer::from_hf_json(test::fixture("lm/tokenizer.json"));
}

TEST(EditBatch, TheEditRangeIsTheEntitysLastToken) {
  const tok::Tokenizer tokenizer = fixture_tokenizer();
  const std::string prompt = "we met anna in rome";
  EditBatchOptions options;
  const EditBatch batch = make_edit_batch(tokenizer, {prompt}, {"anna"}, options);
  // The tokens up to and including the entity, counted on the text that ends with it.
  const auto through_entity = static_cast<std::int64_t>(tokenizer.encode("we met anna").ids.size());
  EXPECT_EQ(batch.entity_ends[0].item<std::int64_t>(), through_entity);
  EXPECT_EQ(batch.edit_ranges[0][1].item<std::int64_t>(), through_entity);
  EXPECT_EQ(batch.edit_ranges[0][0].item<std::int64_t>(), through_entity - 1);
  EXPECT_EQ(batch.lengths[0].item<std::int64_t>(),
            static_cast<std::int64_t>(tokenizer.encode(prompt).ids.size()));
}

TEST(EditBatch, AnEntityCutOffByTheContextIsNamedAsSuch) {
  const tok::Tokenizer tokenizer = fixture_tokenizer();
  const std::string prompt = "we met in rome and in paris and then anna";
  const auto tokens = static_cast<std::int64_t>(tokenizer.encode(prompt).ids.size());
  EditBatchOptions options;
  options.max_length = 4;
  options.row_names = {"sample 7"};
  test::expect_error([&] { make_edit_batch(tokenizer, {prompt}, {"anna"}, options); }, "<data>",
                     "sample 7 prompt",
                     "has " + std::to_string(tokens) +
                         " tokens and its entity is not within the first 4 that the model's context holds");
}

TEST(EditBatch, ABosShiftsTheEntitysTokensByOne) {
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(test::fixture("tok_families/gemma"));
  ASSERT_EQ(tokenizer.special_prefix(), std::vector<std::int64_t>{2});
  const std::vector<std::string> prompts = {"Hello world is nice", "Hello world is nice"};
  const std::vector<std::string> entities = {"Hello", "world"};
  EditBatchOptions options;
  options.edit_last_entity_token = false;
  const EditBatch batch = make_edit_batch(tokenizer, prompts, entities, options);
  const tok::Encoding plain = tokenizer.encode(prompts[0]);
  for (std::int64_t row = 0; row < 2; ++row) {
    const tok::TokenRange without_bos = tok::token_range(plain.offsets, prompts[0], entities[row]);
    EXPECT_EQ(batch.edit_ranges[row][0].item<std::int64_t>(), without_bos.begin + 1) << entities[row];
    EXPECT_EQ(batch.edit_ranges[row][1].item<std::int64_t>(), without_bos.end + 1) << entities[row];
    EXPECT_EQ(batch.entity_ends[row].item<std::int64_t>(), without_bos.end + 1) << entities[row];
    EXPECT_EQ(batch.lengths[row].item<std::int64_t>(), static_cast<std::int64_t>(plain.ids.size()) + 1);
    EXPECT_EQ(batch.tokens.input_ids[row][0].item<std::int64_t>(), 2);
  }
  EXPECT_EQ(batch.edit_ranges[0][0].item<std::int64_t>(), 1);  // "Hello" starts the text, after the BOS
}

}  // namespace
}  // namespace remedi
