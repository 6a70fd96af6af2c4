// Sentence splitting for the fluency metric's word tokenizer: the decision procedure of NLTK's
// Punkt sentence tokenizer (Kiss & Strunk 2006) as `nltk.sent_tokenize` runs it, with a fixed,
// hand-written English abbreviation list in place of the trained English model's parameters, and
// without its learned collocations, frequent sentence starters and orthographic statistics.
//
// Consequences (measured drift in docs/METRICS.md):
// * a period after a word that is not a listed abbreviation ends a sentence, whatever follows;
// * a period after a listed abbreviation or an ellipsis never ends one (the trained model may still
//   break there when the next word is a frequent sentence starter such as "He");
// * a period after an initial ("J.") never ends one unless the next token starts with neither an
//   upper- nor a lower-case letter; after a number ("2010.") it does not when the next token starts
//   lower-case or is one of ; : , . ! ?
// * ? and ! (and runs of them) end a sentence before a following token or closing punctuation;
//   closing quotes/brackets right after the break stay with the sentence they close.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace remedi::eval {

struct SentenceSpan {
  std::size_t begin = 0;  // byte offsets into the text
  std::size_t end = 0;
};

// Sentences of valid UTF-8 `text`, in order, without surrounding whitespace between them. Text
// that is empty or all whitespace gives no sentence.
std::vector<SentenceSpan> split_sentences(std::string_view text);

// Whether `word` (lower-case, without its final period, e.g. "mr", "u.s") is in the abbreviation list.
bool is_known_abbreviation(std::string_view word);

}  // namespace remedi::eval
