// Word tokenization for the fluency metric, mimicking NLTK's `word_tokenize` (English): split the
// text into sentences with a Punkt-style splitter (sentence_split.h), then apply the improved
// Treebank rules of NLTK's `NLTKWordTokenizer` to each sentence. The rules were re-implemented from
// NLTK 3.10's documentation and behaviour; docs/METRICS.md lists where the result can differ.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace remedi::eval {

// The Treebank rules on one sentence (NLTK: `NLTKWordTokenizer().tokenize(sentence)`), without the
// optional parenthesis conversion. Invalid UTF-8 bytes are first replaced by U+FFFD.
std::vector<std::string> treebank_word_tokenize(std::string_view sentence);

// Sentences, then Treebank tokens of each (NLTK: `nltk.word_tokenize(text)`).
std::vector<std::string> word_tokenize(std::string_view text);

}  // namespace remedi::eval
