// A compiled PCRE2 pattern in UTF-8 + UCP mode (\p{L}, \s, ... follow Unicode, like the Oniguruma
// patterns of HF tokenizers), JIT-compiled once and shared by every encode call. Invalid UTF-8 in
// the subject is tolerated (PCRE2_MATCH_INVALID_UTF): such bytes simply never match.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remedi::tok {

class Regex {
 public:
  // `literal`: match `pattern` as a plain string. Throws remedi::Error(source, field, reason) if
  // the pattern does not compile.
  Regex(std::string_view pattern, bool literal, const std::string& source, const std::string& field);

  // Appends the [begin, end) byte ranges of successive non-overlapping matches in `subject`.
  void find_all(std::string_view subject, std::vector<std::pair<std::size_t, std::size_t>>& matches) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace remedi::tok
