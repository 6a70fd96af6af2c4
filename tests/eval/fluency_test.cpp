#include "eval/fluency.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "eval/metrics.h"

namespace remedi::eval {
namespace {

std::string repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(Fluency, SpecVectors) {
  // METHOD §8.4.1: "a a a" → 0; "a" → 0; "a b " × 100 → 1; mean over groups [["a","b"], ["a b "×100]] → 0.5.
  EXPECT_EQ(weighted_ngram_entropy("a a a"), 0.0);
  EXPECT_EQ(weighted_ngram_entropy("a"), 0.0);
  EXPECT_NEAR(weighted_ngram_entropy(repeat("a b ", 100)), 1.0, 1e-4);
  const double groups =
      aggregate({mean_weighted_ngram_entropy({"a", "b"}), mean_weighted_ngram_entropy({repeat("a b ", 100)})})
          .mean;
  EXPECT_NEAR(groups, 0.5, 1e-4);
}

TEST(Fluency, HandComputedEntropies) {
  // Bigrams of a b c a b: ab ×2, bc, ca → p = (1/2, 1/4, 1/4), H = 1.5 bits. Trigrams abc, bca, cab
  // → H = log2(3). Weighted: 1.5/3 + 2·log2(3)/3.
  const std::vector<std::string> tokens = {"a", "b", "c", "a", "b"};
  EXPECT_NEAR(ngram_entropy(tokens, 2), 1.5, 1e-6);
  EXPECT_NEAR(ngram_entropy(tokens, 3), std::log2(3.0), 1e-6);
  EXPECT_EQ(ngram_entropy(tokens, 6), 0.0);
  EXPECT_NEAR(weighted_ngram_entropy("a b c a b"), 0.5 + 2.0 * std::log2(3.0) / 3.0, 1e-6);
  EXPECT_THROW(ngram_entropy(tokens, 0), std::invalid_argument);
  EXPECT_THROW(mean_weighted_ngram_entropy({}), std::invalid_argument);
}

}  // namespace
}  // namespace remedi::eval
