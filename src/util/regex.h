// A compiled PCRE2 pattern in UTF-8 + UCP mode: \w, \d, \b, \p{L} and caseless matching follow
// Unicode, like Python 3's `re` on str and the Oniguruma patterns of HF tokenizers (PCRE2's `\s` is
// narrower than Python's: util/utf8.h's kPythonSpaceClass spells Python's out). JIT-compiled once;
// copies share the compiled code, which concurrent matches may use.
//
// The tokenizer and the text metrics both match through this class: find_all_spans (the tokenizer's
// hot path: group 0 only, appended to a reused vector), find_all (Python's re.finditer, with groups),
// replace_all (re.sub) and match_length_at (re.match at an offset).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remedi {

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

struct RegexOptions {
  bool literal = false;  // match the pattern as a plain string (UCP does not apply then)
  // false: a subject that is not valid UTF-8 is a std::runtime_error (callers repair text first,
  // util/utf8.h's decode_utf8_lossy). true: invalid bytes are allowed and simply never match
  // (PCRE2_MATCH_INVALID_UTF), as the tokenizer needs for raw bytes.
  bool invalid_utf8_never_matches = false;
};

class Regex {
 public:
  // Throws remedi::Error(source, field, "regular expression does not compile at offset N: ...").
  // `source`/`field` name where the pattern came from: a tokenizer.json and its key, or
  // "<built-in>" and what the pattern is for.
  Regex(std::string_view pattern, const std::string& source, const std::string& field,
        RegexOptions options = {});
  // A pattern written in the code: an error names it as field of "<built-in>".
  explicit Regex(std::string_view pattern);

  // Appends the [begin, end) byte ranges of successive non-overlapping matches in `subject`.
  void find_all_spans(std::string_view subject,
                      std::vector<std::pair<std::size_t, std::size_t>>& spans) const;
  // Every non-overlapping match, left to right, with its groups.
  std::vector<RegexMatch> find_all(std::string_view subject) const;
  // Every non-overlapping match replaced by `replacement` (PCRE2 syntax: `$1`, `${1}`, `$0`; an
  // unset group is empty).
  std::string replace_all(std::string_view subject, std::string_view replacement) const;
  // Byte length of a match anchored at `offset`, or RegexMatch::kUnset if none (Python's re.match).
  std::size_t match_length_at(std::string_view subject, std::size_t offset) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace remedi
