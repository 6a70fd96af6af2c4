#include "eval/word_tokenize.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "eval/fluency.h"
#include "eval/sentence_split.h"
#include "test_support.h"
#include "util/utf8.h"

namespace remedi::eval {
namespace {

// Golden vectors from tests/reference/make_metric_vectors.py: NLTK 3.10's PunktSentenceTokenizer
// (given the same abbreviation list as ours, nothing else) and NLTKWordTokenizer, and the REMEDI
// fluency formula in numpy, over texts chosen to exercise every rule.
nlohmann::json golden_vectors() {
  return nlohmann::json::parse(test::read_file(test::fixture("eval/word_tokenize_vectors.json")))["vectors"];
}

TEST(WordTokenize, MatchesNltkSentenceSpans) {
  for (const auto& vector : golden_vectors()) {
    const std::string text = vector["text"];
    std::vector<std::vector<std::size_t>> spans;
    for (const SentenceSpan& span : split_sentences(text)) spans.push_back({span.begin, span.end});
    EXPECT_EQ(spans, vector["sentences"].get<std::vector<std::vector<std::size_t>>>()) << "text: " << text;
  }
}

TEST(WordTokenize, MatchesNltkTokens) {
  for (const auto& vector : golden_vectors()) {
    const std::string text = vector["text"];
    EXPECT_EQ(word_tokenize(text), vector["tokens"].get<std::vector<std::string>>()) << "text: " << text;
  }
}

TEST(WordTokenize, MatchesNltkFluency) {
  for (const auto& vector : golden_vectors()) {
    const std::string text = vector["text"];
    EXPECT_NEAR(weighted_ngram_entropy(text), vector["fluency"].get<double>(), 1e-6) << "text: " << text;
  }
}

TEST(WordTokenize, TreebankDocExample) {
  // NLTKWordTokenizer's documented example: without sentence splitting, only the last period is split.
  const std::vector<std::string> expected = {"Good", "muffins", "cost", "$",  "3.88",  "(",      "roughly",
                                             "3,36", "euros",   ")",    "in", "New",   "York.",  "Please",
                                             "buy",  "me",      "two",  "of", "them.", "Thanks", "."};
  EXPECT_EQ(
      treebank_word_tokenize("Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\n"
                             "two of them.\nThanks."),
      expected);
}

TEST(WordTokenize, RepairsInvalidUtf8) {
  EXPECT_EQ(word_tokenize("bad \xff byte."), (std::vector<std::string>{"bad", "\xEF\xBF\xBD", "byte", "."}));
}

TEST(WordTokenize, PunctuationRunsAndInvalidBytes) {
  // Expected tokens: NLTK 3.10.4's sentence splitter (our abbreviation list) + NLTKWordTokenizer, as
  // tests/reference/make_metric_vectors.py runs them, on bytes.decode("utf-8", "replace") of each
  // input; checked by hand against the Treebank rules (a "``"/"''" pair for straight double quotes,
  // "--" split off, "..." kept whole, a period split only at the end of a sentence).
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  const std::vector<std::pair<std::string, std::vector<std::string>>> vectors = {
      {R"(He said "no!" (twice) -- then left...)",
       {"He", "said", "``", "no", "!", "''", "(", "twice", ")", "--", "then", "left", "..."}},
      {"``Quote'' and 'single' [brackets] {braces} <angles>",
       {"``", "Quote", "''", "and", "'", "single", "'", "[", "brackets", "]", "{", "braces", "}", "<",
        "angles", ">"}},
      {"a\xFF\x62 \xE2\x80\x9Cok\xE2\x80\x9D \xE2\x80\x94 x",  // \x62 = "b"
       {"a" + r + "b", "\xE2\x80\x9C", "ok", "\xE2\x80\x9D", "\xE2\x80\x94", "x"}},
      {"$5 & 10% @home #1; a:b, c?!",
       {"$", "5", "&", "10", "%", "@", "home", "#", "1", ";", "a", ":", "b", ",", "c", "?", "!"}},
      // A truncated three-byte sequence is one U+FFFD, as Python decodes it.
      {"\xC3\xA9t\xC3\xA9. B\xE2\x80 ends\xFF", {"\xC3\xA9t\xC3\xA9", ".", "B" + r, "ends" + r}},
      {"!!! ??? ... --- ;;; ,,,",
       {"!", "!", "!", "?", "?", "?", "...", "--", "-", ";", ";", ";", ",", ",", ","}},
      {R"((a) [b]? {c}! "d".)",
       {"(", "a", ")", "[", "b", "]", "?", "{", "c", "}", "!", "``", "d", "''", "."}},
      {"AB1\tab\n`a' b' \"c\"", {"AB1", "ab", "`", "a", "'", "b", "'", "``", "c", "''"}},
      {"x@y.z; *a* & -b- <c> {d}",
       {"x", "@", "y.z", ";", "*", "a", "*", "&", "-b-", "<", "c", ">", "{", "d", "}"}},
  };
  for (const auto& [text, expected] : vectors) EXPECT_EQ(word_tokenize(text), expected) << "text: " << text;
}

TEST(WordTokenize, ArbitraryBytesGiveCleanTokens) {
  // Punctuation-heavy random strings with invalid UTF-8 mixed in: every token is non-empty, valid
  // UTF-8 and free of whitespace, and the fluency of any text is a finite number.
  const std::string alphabet =
      std::string(".?!\"'`()[]{}<>:;,-@#$%&* \n\tabAB1\xC3\xA9\xE2\x80\x9C\xE2\x80\x94") + '\xff';
  std::mt19937 generator(5);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const std::size_t length = generator() % 60;
    for (std::size_t i = 0; i < length; ++i) text += alphabet[generator() % alphabet.size()];
    for (const std::string& token : word_tokenize(text)) {
      EXPECT_FALSE(token.empty()) << text;
      EXPECT_EQ(decode_utf8_lossy(token), token) << text;
      for (const char c : token) EXPECT_TRUE(c != ' ' && c != '\n' && c != '\t') << text;
    }
    EXPECT_TRUE(std::isfinite(weighted_ngram_entropy(text))) << text;
  }
}

TEST(WordTokenize, LongText) {
  const std::string sentence =
      "Mr. Smith's dog (a \"good\" boy) barked at 3.5 p.m. on Jan. 5... Then it slept! ";
  const std::vector<std::string> expected = {"Mr.",  "Smith", "'s",  "dog",    "(",  "a",     "``",   "good",
                                             "''",   "boy",   ")",   "barked", "at", "3.5",   "p.m.", "on",
                                             "Jan.", "5",     "...", "Then",   "it", "slept", "!"};
  EXPECT_EQ(word_tokenize(sentence), expected);  // NLTK 3.10.4, as above
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += sentence;
  const std::vector<std::string> tokens = word_tokenize(long_text);
  ASSERT_EQ(tokens.size(), 2000U * 23U);  // NLTK: 46000
  for (std::size_t i = 0; i < tokens.size(); ++i) ASSERT_EQ(tokens[i], expected[i % 23]) << "token " << i;
}

}  // namespace
}  // namespace remedi::eval
