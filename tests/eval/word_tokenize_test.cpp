#include "eval/word_tokenize.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "eval/fluency.h"
#include "eval/sentence_split.h"
#include "test_support.h"

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

TEST(WordTokenize, HandlesArbitraryBytesAndLongText) {
  // Punctuation-heavy random strings, with invalid UTF-8 mixed in, must tokenize without throwing.
  const std::string alphabet =
      std::string(".?!\"'`()[]{}<>:;,-@#$%&* \n\tabAB1\xC3\xA9\xE2\x80\x9C\xE2\x80\x94") + '\xff';
  std::mt19937 generator(5);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const std::size_t length = generator() % 60;
    for (std::size_t i = 0; i < length; ++i) text += alphabet[generator() % alphabet.size()];
    EXPECT_NO_THROW(weighted_ngram_entropy(text)) << text;
  }
  std::string long_text;
  for (int i = 0; i < 2000; ++i)
    long_text += "Mr. Smith's dog (a \"good\" boy) barked at 3.5 p.m. on Jan. 5... Then it slept! ";
  const std::vector<std::string> tokens = word_tokenize(long_text);
  EXPECT_EQ(tokens.size(), 2000U * 23U);  // reference: the script's tokenize() on the same text
}

}  // namespace
}  // namespace remedi::eval
