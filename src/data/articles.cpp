#include "data/articles.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>

#include "data/text.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::data {

namespace {

// Vowel letters read as consonants ("a European", "a one-off", "a unicorn", "a usual ...").
constexpr std::string_view kConsonantSoundPrefixes[] = {
    "eu",  "ewe", "one", "once", "ouija", "uni", "unan", "ura", "ure", "uri",  "uro",
    "usa", "use", "usu", "uta",  "ute",   "uti", "uto",  "uku", "ufo", "ubiq", "ukr"};
// ... except these, where "un-" is a prefix ("an unimportant", "an uninvited").
constexpr std::string_view kVowelSoundUniPrefixes[] = {"unid", "unim", "unin", "unir"};
// Consonant letters read as vowels: a silent h ("an hour", "an heir", "an honest").
constexpr std::string_view kVowelSoundPrefixes[] = {"hour", "heir", "honest", "honor", "honour"};

bool has_prefix_in(std::string_view word, const std::string_view* begin, const std::string_view* end) {
  return std::any_of(begin, end, [&](std::string_view prefix) { return word.starts_with(prefix); });
}

}  // namespace

bool spelled_with_vowel_sound(std::string_view word) {
  if (word.empty()) return false;
  if (has_prefix_in(word, std::begin(kVowelSoundPrefixes), std::end(kVowelSoundPrefixes))) return true;
  if (has_prefix_in(word, std::begin(kVowelSoundUniPrefixes), std::end(kVowelSoundUniPrefixes))) return true;
  if (has_prefix_in(word, std::begin(kConsonantSoundPrefixes), std::end(kConsonantSoundPrefixes)))
    return false;
  return std::string_view("aeiou").find(word[0]) != std::string_view::npos;
}

Articles Articles::spelling_rules() { return Articles{}; }

Articles Articles::from_cmudict(const std::string& path) {
  Articles articles;
  articles.use_dictionary_ = true;
  std::istringstream lines(read_text_file(path));
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (line.starts_with(";;;") || line.starts_with("#")) continue;
    std::vector<std::string> fields = split_whitespace(line);
    if (fields.empty()) continue;
    std::string word = fields[0];
    if (const std::size_t paren = word.find('('); paren != std::string::npos && paren > 0) word.resize(paren);
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t first_phoneme = 1;
    if (fields.size() > 1 && fields[1].find_first_not_of("0123456789") == std::string::npos)
      first_phoneme = 2;
    if (first_phoneme >= fields.size())
      throw Error(path, "line " + std::to_string(line_number), "has no phonemes");
    const bool vowel = std::isdigit(static_cast<unsigned char>(fields[first_phoneme].back())) != 0;
    articles.starts_with_vowel_.emplace(word, vowel);  // the first pronunciation wins
  }
  return articles;
}

std::string Articles::article(std::string_view word) const {
  if (use_dictionary_) {
    const auto found = starts_with_vowel_.find(std::string(word));
    return found != starts_with_vowel_.end() && found->second ? "an" : "a";
  }
  // The dictionary lists single words only: a phrase gets the default, as in the original.
  if (word.find(' ') != std::string_view::npos) return "a";
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return spelled_with_vowel_sound(lower) ? "an" : "a";
}

}  // namespace remedi::data
