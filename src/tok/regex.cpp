#define PCRE2_CODE_UNIT_WIDTH 8
#include "tok/regex.h"

#include <pcre2.h>

#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  explicit Code(pcre2_code* compiled) : code(compiled) {}
  ~Code() { pcre2_code_free(code); }
  Code(const Code&) = delete;
  Code& operator=(const Code&) = delete;
};

namespace {

struct MatchData {
  pcre2_match_data* data;
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (data == nullptr) throw std::bad_alloc();
  }
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

std::string pcre2_message(int error_code) {
  std::string message(256, '\0');
  const int length =
      pcre2_get_error_message(error_code, reinterpret_cast<PCRE2_UCHAR*>(message.data()), message.size());
  message.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
  return message;
}

}  // namespace

Regex::Regex(std::string_view pattern, bool literal, const std::string& source, const std::string& field) {
  // PCRE2 refuses UCP together with LITERAL (it has no meaning there).
  std::uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                       &error_code, &error_offset, nullptr);
  if (compiled == nullptr) {
    throw Error(source, field,
                "regular expression does not compile at offset " + std::to_string(error_offset) + ": " +
                    pcre2_message(error_code));
  }
  // Without JIT (unsupported platform) the interpreter gives the same matches, only slower.
  pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  code_ = std::make_shared<const Code>(compiled);
}

void Regex::find_all(std::string_view subject,
                     std::vector<std::pair<std::size_t, std::size_t>>& matches) const {
  const MatchData match(code_->code);
  const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
  std::size_t start = 0;
  while (start <= subject.size()) {
    const int rc = pcre2_match(code_->code, data, subject.size(), start, 0, match.data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw std::runtime_error("PCRE2 match failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    matches.emplace_back(begin, end);
    if (end > begin) {
      start = end;
    } else if (end < subject.size()) {
      start = end + decode_utf8_at(subject, end).length;  // step over one character after an empty match
    } else {
      break;
    }
  }
}

}  // namespace remedi::tok
