// Span location and derived ranges on hand-written offsets (METHOD §4.1, §4.3, §12).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tok/spans.h"
#include "util/error.h"

namespace remedi::tok {
namespace {

TEST(Spans, OccurrencesOverlapAndCountCodePoints) {
  EXPECT_EQ(find_occurrence("aaaa", "aa", 0), (CharSpan{0, 2}));
  EXPECT_EQ(find_occurrence("aaaa", "aa", 1), (CharSpan{1, 3}));
  EXPECT_EQ(find_occurrence("aaaa", "aa", 2), (CharSpan{2, 4}));
  EXPECT_THROW(find_occurrence("aaaa", "aa", 3), Error);
  // "é" is two bytes but one character: offsets are code points.
  EXPECT_EQ(find_occurrence("caf\xC3\xA9 caf\xC3\xA9", "caf\xC3\xA9", 1), (CharSpan{5, 9}));
}

TEST(Spans, AbsentSubstringErrorNamesIt) {
  try {
    (void)find_occurrence("The batman is the night.", "joker");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("joker"), std::string::npos);
  }
}

TEST(Spans, InclusiveBoundsAndStopAtTheEndToken) {
  // Untrimmed GPT-2 style offsets of "The batman is": The | Ġbat | man | Ġis.
  const std::vector<Offset> offsets = {{0, 3}, {3, 7}, {7, 10}, {10, 13}};
  EXPECT_EQ(token_range_for_span(offsets, {4, 10}), (TokenRange{1, 3}));
  // A span starting where a token ends also takes that token (inclusive rule).
  EXPECT_EQ(token_range_for_span(offsets, {3, 7}), (TokenRange{0, 2}));
  EXPECT_EQ(token_range_for_span(offsets, {3, 7}, SpanStartRule::Strict), (TokenRange{1, 2}));
  EXPECT_THROW(token_range_for_span(offsets, {20, 22}), Error);
}

TEST(Spans, MaskLengthMustMatch) {
  const std::vector<Offset> offsets = {{0, 3}};
  const std::vector<std::int64_t> mask = {1, 1};
  EXPECT_THROW(token_range_for_span(offsets, {0, 3}, SpanStartRule::Inclusive, mask), Error);
}

TEST(Spans, LastTokenRanges) {
  EXPECT_EQ(last_token({0, 1}), (TokenRange{0, 1}));
  EXPECT_EQ(last_token({1, 3}), (TokenRange{2, 3}));
}

TEST(Spans, NegativeRanges) {
  EXPECT_EQ(negative_range({4, 5}, 6), (TokenRange{-2, -1}));
  EXPECT_EQ(negative_range({0, 3}, 5), (TokenRange{-5, -2}));
  // METHOD Q6: an entity ending at the last token gives [-1, 0).
  EXPECT_EQ(negative_range(last_token({3, 5}), 5), (TokenRange{-1, 0}));
}

}  // namespace
}  // namespace remedi::tok
