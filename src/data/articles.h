// "a" or "an" before a word. The original asks the CMU pronouncing dictionary (NLTK cmudict): the
// first phoneme of the word's first pronunciation is a vowel (it carries a stress digit) -> "an";
// a word it does not list (any multi-word phrase among them) -> "a". The dictionary is not shipped
// here, so two sources are offered (docs/DEVIATIONS.md):
//  * Articles::from_cmudict(path) reads a cmudict file a user has and answers exactly as the
//    original;
//  * Articles::spelling_rules() decides from the spelling, with exception lists for the common
//    cases where letters and sounds disagree (an hour, a unicorn, a one-way street).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace remedi::data {

class Articles {
 public:
  static Articles spelling_rules();
  // A cmudict file: lines "word PH1 PH2 ..." (the cmudict.dict layout; alternatives are spelled
  // "word(2)") or NLTK's "WORD 1 PH1 PH2 ...". Lines starting with ";;;" or "#" are comments.
  // Throws remedi::Error for an unreadable file or a line without phonemes.
  static Articles from_cmudict(const std::string& path);

  // "a" or "an" (lower case) for `word`, looked up as given.
  std::string article(std::string_view word) const;

 private:
  // Word -> whether its first pronunciation starts with a vowel; empty for the spelling rules.
  std::unordered_map<std::string, bool> starts_with_vowel_;
  bool use_dictionary_ = false;
};

// The spelling rules on their own: true if `word` (lower case, one word) starts with a vowel sound.
bool spelled_with_vowel_sound(std::string_view word);

}  // namespace remedi::data
