#include "eval/tfidf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "test_support.h"
#include "util/error.h"

namespace remedi::eval {
namespace {

// Expected numbers marked "reference" were printed by tests/reference/make_metric_vectors.py with
// scikit-learn 1.9.1's TfidfVectorizer fitted on the same documents.
const std::vector<std::string> kDocuments = {"The cat sat on the mat.", "The dog sat on the log.",
                                             "Cats and dogs are pets; a cat is not a dog.",
                                             "Paris is the capital of France.",
                                             "\xC3\x89"
                                             "cole and caf\xC3\xA9 in Paris"};

double value_of(const TfidfVectorizer& vectorizer, const SparseVector& row, const std::string& term) {
  const std::optional<std::size_t> column = vectorizer.column_of(term);
  if (!column) return NAN;
  for (std::size_t i = 0; i < row.indices.size(); ++i) {
    if (row.indices[i] == *column) return row.values[i];
  }
  return 0.0;
}

TEST(Tfidf, SpecVector) {
  // METHOD §8.4.2: fitted on ["dog cat"], "dog cat" vs "dog dog dog" + "cat cat cat" → ≈ 1.0.
  const TfidfVectorizer vectorizer = TfidfVectorizer::fit({"dog cat"});
  const double similarity = tfidf_similarity(vectorizer, {"dog cat"}, {"dog dog dog", "cat cat cat"});
  EXPECT_NEAR(similarity, 1.0, 1e-5);
  EXPECT_NEAR(similarity, 0.9999980000030001, 1e-12);  // reference, with the 1e-6 epsilons
}

TEST(Tfidf, FitMatchesScikitLearn) {
  const TfidfVectorizer vectorizer = TfidfVectorizer::fit(kDocuments);
  ASSERT_EQ(vectorizer.vocabulary_size(), 21U);
  // reference: vocabulary_ is sorted and lower-cased; one-letter words are not tokens.
  EXPECT_EQ(vectorizer.column_of("and"), 0U);
  EXPECT_EQ(vectorizer.column_of("caf\xC3\xA9"), 2U);
  EXPECT_EQ(vectorizer.column_of("the"), 19U);
  EXPECT_EQ(vectorizer.column_of("\xC3\xA9"
                                 "cole"),
            20U);
  EXPECT_FALSE(vectorizer.column_of("a").has_value());
  // reference idf_: ln(6/3)+1, ln(6/2)+1, ln(6/5)+1 for df 2, 1, 4.
  EXPECT_DOUBLE_EQ(vectorizer.idf()[0], 1.6931471805599454);
  EXPECT_DOUBLE_EQ(vectorizer.idf()[1], 2.09861228866811);
  EXPECT_DOUBLE_EQ(vectorizer.idf()[19], 1.4054651081081644);

  const SparseVector row = vectorizer.transform("The cat and the dog; THE CAT!");
  EXPECT_EQ(row.indices.size(), 4U);
  EXPECT_NEAR(value_of(vectorizer, row, "and"), 0.28628215899536191, 1e-15);
  EXPECT_NEAR(value_of(vectorizer, row, "cat"), 0.57256431799072383, 1e-15);
  EXPECT_NEAR(value_of(vectorizer, row, "dog"), 0.28628215899536191, 1e-15);
  EXPECT_NEAR(value_of(vectorizer, row, "the"), 0.71292015867537784, 1e-15);
  EXPECT_NEAR(l2_norm(row), 1.0, 1e-15);

  const SparseVector a = vectorizer.transform("a cat on a mat");
  const SparseVector b = vectorizer.transform("the dog on the log");
  EXPECT_NEAR(cosine_similarity(a, b), 0.21198899882401012, 1e-15);  // reference
}

TEST(Tfidf, SublinearUnsmoothedL1MatchesScikitLearn) {
  TfidfOptions options;
  options.sublinear_tf = true;
  options.smooth_idf = false;
  options.norm = TfidfNorm::kL1;
  const TfidfVectorizer vectorizer = TfidfVectorizer::fit(kDocuments, options);
  const SparseVector row = vectorizer.transform("the the the cat paris");
  // reference: TfidfVectorizer(sublinear_tf=True, smooth_idf=False, norm="l1")
  EXPECT_NEAR(value_of(vectorizer, row, "cat"), 0.27363000048848379, 1e-15);
  EXPECT_NEAR(value_of(vectorizer, row, "paris"), 0.27363000048848379, 1e-15);
  EXPECT_NEAR(value_of(vectorizer, row, "the"), 0.45273999902303241, 1e-15);
}

TEST(Tfidf, EmptyAndUnknownTextsGiveZeroRows) {
  const TfidfVectorizer vectorizer = TfidfVectorizer::fit(kDocuments);
  EXPECT_TRUE(vectorizer.transform("").indices.empty());
  EXPECT_TRUE(vectorizer.transform("zebra xylophone").indices.empty());
  EXPECT_EQ(tfidf_similarity(vectorizer, {"the cat"}, {}), 0.0);  // no snippets → 0 (METHOD §8.4)
  EXPECT_THROW(TfidfVectorizer::fit({"a b", ""}), std::invalid_argument);
}

TEST(Tfidf, MeanVectorAveragesWithoutRenormalising) {
  const SparseVector a{{0, 2}, {1.0, 2.0}};
  const SparseVector b{{2, 5}, {4.0, 6.0}};
  const SparseVector mean = mean_vector({a, b});
  EXPECT_EQ(mean.indices, (std::vector<std::size_t>{0, 2, 5}));
  EXPECT_EQ(mean.values, (std::vector<double>{0.5, 3.0, 3.0}));
  EXPECT_EQ(dot(a, b), 8.0);
  EXPECT_TRUE(mean_vector({}).indices.empty());
}

TEST(Tfidf, FromIdfUsesTheGivenColumnsAndWeights) {
  const TfidfVectorizer vectorizer =
      TfidfVectorizer::from_idf({{"paris", 1}, {"france", 0}}, {2.0, 1.0}, "idf.npy + tfidf_vocab.json");
  const SparseVector row = vectorizer.transform("Paris, France: PARIS.");
  // counts paris 2, france 1 → (1·2, 2·1) / √8.
  EXPECT_EQ(row.indices, (std::vector<std::size_t>{0, 1}));
  EXPECT_NEAR(row.values[0], 2.0 / std::sqrt(8.0), 1e-15);
  EXPECT_NEAR(row.values[1], 2.0 / std::sqrt(8.0), 1e-15);
  EXPECT_THROW(TfidfVectorizer::from_idf({{"a", 0}}, {1.0, 2.0}, "x"), Error);
  EXPECT_THROW(TfidfVectorizer::from_idf({{"aa", 0}, {"bb", 0}}, {1.0, 2.0}, "x"), Error);
  EXPECT_THROW(TfidfVectorizer::from_idf({{"aa", 2}}, {1.0}, "x"), Error);
  EXPECT_THROW(TfidfVectorizer::from_idf({{"aa", 0}}, {NAN}, "x"), Error);
}

TEST(Tfidf, LoadsVocabularyJson) {
  const std::string dir = test::temp_dir("tfidf");
  test::write_file(dir + "/vocab.json", R"({"paris": 1, "france": 0})");
  const auto vocabulary = load_tfidf_vocabulary(dir + "/vocab.json");
  EXPECT_EQ(vocabulary.at("paris"), 1U);
  EXPECT_EQ(vocabulary.at("france"), 0U);
  test::write_file(dir + "/bad.json", R"({"paris": -1})");
  EXPECT_THROW(load_tfidf_vocabulary(dir + "/bad.json"), Error);
  test::write_file(dir + "/float.json", R"({"paris": 1.5})");
  EXPECT_THROW(load_tfidf_vocabulary(dir + "/float.json"), Error);
  test::write_file(dir + "/list.json", "[1, 2]");
  EXPECT_THROW(load_tfidf_vocabulary(dir + "/list.json"), Error);
  test::write_file(dir + "/broken.json", "{\"a\": ");
  EXPECT_THROW(load_tfidf_vocabulary(dir + "/broken.json"), Error);
  EXPECT_THROW(load_tfidf_vocabulary(dir + "/missing.json"), Error);
}

TEST(Tfidf, LowerCasesUnicode) {
  // Python: "ÉCOLE ΣΟΦΙΑ Straße ÀÖ".lower() (final-sigma and İ handling aside, see docs/METRICS.md).
  EXPECT_EQ(unicode_lower("\xC3\x89"
                          "COLE \xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91 Stra\xC3\x9F"
                          "e \xC3\x80\xC3\x96"),
            "\xC3\xA9"
            "cole \xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1 stra\xC3\x9F"
            "e \xC3\xA0\xC3\xB6");
}

}  // namespace
}  // namespace remedi::eval
