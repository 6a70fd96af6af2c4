// The GPT-2 tokenizer (vocab.json + merges.txt layout from the shared data) against llama.cpp's
// golden vectors, HF offsets and decode, and the span vectors of METHOD §4.1.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::tok {
namespace {

const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = Tokenizer::from_vocab_merges(test::data_path("gpt2-bpe/encoder.json"),
                                                                  test::data_path("gpt2-bpe/vocab.bpe"));
  return tokenizer;
}

struct GoldenCase {
  std::string text;
  std::vector<std::int64_t> ids;
};

std::vector<GoldenCase> golden_cases() {
  const std::string inputs =
      test::read_file(test::data_path("gpt2-tokenizer-tests/ggml-vocab-gpt-2.gguf.inp"));
  const std::string outputs =
      test::read_file(test::data_path("gpt2-tokenizer-tests/ggml-vocab-gpt-2.gguf.out"));
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<GoldenCase> cases;
  for (std::size_t begin = 0; begin < inputs.size();) {
    const std::size_t end = inputs.find(separator, begin);
    if (end == std::string::npos) break;
    cases.push_back({inputs.substr(begin, end - begin), {}});
    begin = end + separator.size();
  }
  std::istringstream lines(outputs);
  std::string line;
  for (GoldenCase& golden : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream numbers(line);
    for (std::int64_t id = 0; numbers >> id;) golden.ids.push_back(id);
  }
  return cases;
}

TEST(Gpt2Tokenizer, MatchesAllGoldenVectorsAndRoundTrips) {
  const std::vector<GoldenCase> cases = golden_cases();
  ASSERT_EQ(cases.size(), 46U);
  int exact = 0;
  for (const GoldenCase& golden : cases) {
    const Encoding encoding = gpt2().encode(golden.text);
    EXPECT_EQ(encoding.ids, golden.ids) << "text: \"" << golden.text << "\"";
    EXPECT_EQ(gpt2().decode(encoding.ids), golden.text);
    exact += encoding.ids == golden.ids ? 1 : 0;
  }
  EXPECT_EQ(exact, 46);
}

TEST(Gpt2Tokenizer, SpecialIdsAndVocabulary) {
  EXPECT_EQ(gpt2().vocab_size(), 50257);
  EXPECT_EQ(gpt2().eos_id(), 50256);
  EXPECT_EQ(gpt2().bos_id(), 50256);
  EXPECT_EQ(gpt2().pad_id(), 50256);
  EXPECT_EQ(gpt2().token_string(262), "\xC4\xA0the");  // "Ġthe"
  EXPECT_EQ(gpt2().token_bytes(262), " the");
  EXPECT_EQ(gpt2().token_id("\xC4\xA0the"), 262);
  EXPECT_FALSE(gpt2().token_id("not a token").has_value());
  EXPECT_TRUE(gpt2().is_special(50256));
  EXPECT_FALSE(gpt2().is_special(262));
  EXPECT_THROW((void)gpt2().token_string(50257), Error);
}

// Expected values printed by HF tokenizers 0.23.3 (BPE.from_file on these files, ByteLevel
// pre-tokenizer, <|endoftext|> added as special): offsets are code points and not trimmed; a token
// holding part of a character spans that whole character.
TEST(Gpt2Tokenizer, OffsetsMatchHuggingFace) {
  struct Case {
    std::string text;
    std::vector<std::int64_t> ids;
    std::vector<Offset> offsets;
  };
  const std::vector<Case> cases = {
      {"Hello \xF0\x9F\x98\x80 world", {15496, 30325, 222, 995}, {{0, 5}, {5, 7}, {6, 7}, {7, 13}}},
      {"\xF0\x9F\x87\xBA\xF0\x9F\x87\xB8 ok",
       {8582, 229, 118, 8582, 229, 116, 12876},
       {{0, 1}, {0, 1}, {0, 1}, {1, 2}, {1, 2}, {1, 2}, {2, 5}}},
      {"  a  ", {220, 257, 220, 220}, {{0, 1}, {1, 3}, {3, 4}, {4, 5}}},
      {"x<|endoftext|>y", {87, 50256, 88}, {{0, 1}, {1, 14}, {14, 15}}},
      {"The batman is the night.",
       {464, 7365, 805, 318, 262, 1755, 13},
       {{0, 3}, {3, 7}, {7, 10}, {10, 13}, {13, 17}, {17, 23}, {23, 24}}},
  };
  for (const Case& c : cases) {
    const Encoding encoding = gpt2().encode(c.text);
    EXPECT_EQ(encoding.ids, c.ids) << c.text;
    EXPECT_EQ(encoding.offsets, c.offsets) << c.text;
  }
}

TEST(Gpt2Tokenizer, DecodeReplacesInvalidUtf8LikePython) {
  // Token 447 is the bytes E2 80, a truncated three-byte character: one U+FFFD, as
  // bytes.decode(errors="replace") and HF decode give.
  EXPECT_EQ(gpt2().decode({447}), "\xEF\xBF\xBD");
  EXPECT_EQ(gpt2().decode({447, 11}), "\xEF\xBF\xBD,");
  EXPECT_EQ(gpt2().decode({87, 50256, 88}), "x<|endoftext|>y");
  EXPECT_EQ(gpt2().decode({87, 50256, 88}, /*skip_special_tokens=*/true), "xy");
  EXPECT_EQ(gpt2().decode({87, 999999, 88}), "xy");  // ids without a token are skipped, as HF does
}

TEST(Gpt2Tokenizer, EncodingInvalidUtf8NeitherThrowsNorLosesBytes) {
  const std::string text = "ab\xFF\xC3 c\xE2\x82";
  const Encoding encoding = gpt2().encode(text);
  EXPECT_EQ(gpt2().decode(encoding.ids), "ab\xEF\xBF\xBD\xEF\xBF\xBD c\xEF\xBF\xBD");
  std::string bytes;
  for (const std::int64_t id : encoding.ids) bytes += gpt2().token_bytes(id);
  EXPECT_EQ(bytes, text);
  EXPECT_EQ(utf8_length(text), 8);  // each invalid byte counts as one code point
}

// METHOD §4.1 reference vectors.
TEST(Gpt2Spans, SpecVectors) {
  const std::string one = "The batman is the night.";
  EXPECT_EQ(token_range(gpt2().encode(one).offsets, one, "batman"), (TokenRange{1, 3}));
  const std::string two = "The batman is the night. The batman is cool.";
  EXPECT_EQ(token_range(gpt2().encode(two).offsets, two, "batman", 1), (TokenRange{8, 10}));
  try {
    (void)token_range(gpt2().encode(one).offsets, one, "robin");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("robin"), std::string::npos);
  }
}

TEST(Gpt2Spans, GluedPrefixIsIncludedUnlessStrict) {
  // "(Paris" -> "(" (0,1), "Paris" (1,6): the inclusive rule also takes "(" (METHOD Q10).
  const std::string text = "(Paris) is nice";
  const Encoding encoding = gpt2().encode(text);
  EXPECT_EQ(token_range(encoding.offsets, text, "Paris"), (TokenRange{0, 2}));
  EXPECT_EQ(token_range(encoding.offsets, text, "Paris", 0, SpanStartRule::Strict), (TokenRange{1, 2}));
}

TEST(Gpt2Spans, LeftPadsAreIgnored) {
  // Left padding puts (0, 0) pads before the row; an entity at character 0 must not start on them.
  const std::string text = "Paris is nice";
  const Encoding encoding = gpt2().encode(text);
  std::vector<Offset> padded(2, Offset{0, 0});
  padded.insert(padded.end(), encoding.offsets.begin(), encoding.offsets.end());
  std::vector<std::int64_t> mask(padded.size(), 1);
  mask[0] = mask[1] = 0;
  EXPECT_EQ(token_range(padded, text, "Paris", 0, SpanStartRule::Inclusive, mask), (TokenRange{2, 3}));
  // Without the mask the original's quirk (Q7) started the range on the pads; an empty span never
  // starts one now (it is also a BOS's), so the pads are passed over either way.
  EXPECT_EQ(token_range(padded, text, "Paris"), (TokenRange{2, 3}));
}

}  // namespace
}  // namespace remedi::tok
