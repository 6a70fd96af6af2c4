// Fluency: weighted n-gram entropy of generated text (ROME's measure, used by REMEDI; METHOD §8.4.1).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::eval {

// Entropy in bits of the distribution of `n`-grams of `tokens` (0 when there is none). As in the
// original, the distribution p is formed and each −p·log₂p term computed in float32; the terms are
// summed in double (the original sums in float32), a difference below 1e-6 relative.
double ngram_entropy(const std::vector<std::string>& tokens, std::size_t n);

// Weighted n-gram entropy of one text: word_tokenize (word_tokenize.h), then the mean over
// n ∈ {2, 3} of w_n·H_n with w = (2/3, 4/3), i.e. H_2/3 + 2·H_3/3. Bits; tables print it ×100.
double weighted_ngram_entropy(std::string_view text);

// Mean of weighted_ngram_entropy over `texts` (one sample's generations). Throws
// std::invalid_argument for an empty list.
double mean_weighted_ngram_entropy(const std::vector<std::string>& texts);

}  // namespace remedi::eval
