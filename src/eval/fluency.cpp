#include "eval/fluency.h"

#include <cmath>
#include <stdexcept>
#include <unordered_map>

#include "eval/word_tokenize.h"

namespace remedi::eval {

double ngram_entropy(const std::vector<std::string>& tokens, std::size_t n) {
  if (n == 0) throw std::invalid_argument("ngram_entropy: n must be positive");
  if (tokens.size() < n) return 0.0;
  // Treebank tokens never contain a space, so space-joined n-grams are distinct keys.
  std::unordered_map<std::string, std::size_t> counts;
  for (std::size_t start = 0; start + n <= tokens.size(); ++start) {
    std::string key = tokens[start];
    for (std::size_t i = 1; i < n; ++i) key += ' ' + tokens[start + i];
    ++counts[key];
  }
  const auto total = static_cast<float>(tokens.size() - n + 1);
  const auto ln2 = static_cast<float>(std::log(2.0));
  double entropy = 0.0;
  for (const auto& [ngram, count] : counts) {
    const float p = static_cast<float>(count) / total;
    entropy += static_cast<double>(-p * std::log(p) / ln2);
  }
  return entropy;
}

double weighted_ngram_entropy(std::string_view text) {
  const std::vector<std::string> tokens = word_tokenize(text);
  constexpr double kWeightBigram = 2.0 / 3.0;
  constexpr double kWeightTrigram = 4.0 / 3.0;
  return (kWeightBigram * ngram_entropy(tokens, 2) + kWeightTrigram * ngram_entropy(tokens, 3)) / 2.0;
}

double mean_weighted_ngram_entropy(const std::vector<std::string>& texts) {
  if (texts.empty()) throw std::invalid_argument("mean_weighted_ngram_entropy: no texts");
  double sum = 0.0;
  for (const std::string& text : texts) sum += weighted_ngram_entropy(text);
  return sum / static_cast<double>(texts.size());
}

}  // namespace remedi::eval
