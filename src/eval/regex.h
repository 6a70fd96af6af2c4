// A compiled PCRE2 pattern with the two operations the text metrics need: Python-style `re.sub`
// (replace every match) and `re.finditer` (every match with its groups).
//
// Patterns are compiled with UTF and UCP, so `\w`, `\d`, `\b` and case-insensitive matching are
// Unicode-aware as in Python 3's `re` on `str` (PCRE2's `\s` is narrower than Python's; patterns
// that must mimic Python's `\s` spell the class out, see word_tokenize.cpp). Subjects must be valid
// UTF-8 (see decode_utf8_lossy in util/utf8.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::eval {

// One match: byte span of the whole match (group 0) and of each capturing group; a group that did
// not take part has begin == end == kUnset.
struct RegexMatch {
  static constexpr std::size_t kUnset = static_cast<std::size_t>(-1);
  struct Span {
    std::size_t begin = kUnset;
    std::size_t end = kUnset;
    bool is_set() const { return begin != kUnset; }
  };
  std::vector<Span> groups;  // groups[0] = whole match
};

class Regex {
 public:
  // Throws std::invalid_argument when the pattern does not compile (a programming error).
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every non-overlapping match replaced by `replacement` (PCRE2 syntax: `$1`, `${1}`, `$0`).
  std::string replace_all(std::string_view subject, std::string_view replacement) const;
  // Every non-overlapping match, left to right.
  std::vector<RegexMatch> find_all(std::string_view subject) const;
  // Byte length of a match anchored at `offset`, or RegexMatch::kUnset if none (Python's re.match).
  std::size_t match_length_at(std::string_view subject, std::size_t offset) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace remedi::eval
