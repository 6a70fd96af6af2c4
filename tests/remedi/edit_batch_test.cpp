// make_edit_batch (remedi/edit_batch.h) with the fixture tokenizer: the edit range is the entity's
// last token, counted by hand, and a prompt cut to the context before its entity is named as such.
#include "remedi/edit_batch.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/expect_error.h"
#include "test_support.h"
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

}  // namespace
}  // namespace remedi
