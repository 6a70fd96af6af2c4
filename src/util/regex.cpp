#define PCRE2_CODE_UNIT_WIDTH 8
#include "util/regex.h"

#include <pcre2.h>

#include <cstdint>
#include <new>
#include <stdexcept>

#include "util/error.h"
#include "util/utf8.h"

namespace remedi {

struct Regex::Code {
  pcre2_code* code = nullptr;
  explicit Code(pcre2_code* compiled) : code(compiled) {}
  ~Code() { pcre2_code_free(code); }
  Code(const Code&) = delete;
  Code& operator=(const Code&) = delete;
};

namespace {

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  return length < 0 ? "PCRE2 error " + std::to_string(error_code)
                    : std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

struct MatchData {
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (data == nullptr) throw std::bad_alloc();
  }
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  pcre2_match_data* data;
};

// Runs one match; returns the pcre2_match result (> 0 on a match, PCRE2_ERROR_NOMATCH otherwise) and
// throws on any other failure (such as invalid UTF-8 where it is not allowed).
int run_match(const pcre2_code* code, std::string_view subject, std::size_t offset, std::uint32_t options,
              const MatchData& match) {
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), offset,
                             options, match.data, nullptr);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
    throw std::runtime_error("regex match failed: " + pcre2_message(rc));
  return rc;
}

// Calls `on_match(ovector, pairs)` for each successive non-overlapping match, as Python's finditer
// walks: after an empty match the search resumes one character on.
template <typename OnMatch>
void for_each_match(const pcre2_code* code, std::string_view subject, OnMatch on_match) {
  const MatchData match(code);
  std::size_t offset = 0;
  std::uint32_t options = 0;  // the first call checks the UTF-8 of the whole subject, later ones need not
  while (offset <= subject.size()) {
    if (run_match(code, subject, offset, options, match) == PCRE2_ERROR_NOMATCH) break;
    options = PCRE2_NO_UTF_CHECK;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    on_match(ovector, pcre2_get_ovector_count(match.data));
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    if (end > begin) {
      offset = end;
    } else if (end < subject.size()) {
      offset = end + decode_utf8_at(subject, end).length;
    } else {
      break;
    }
  }
}

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& source, const std::string& field,
             RegexOptions options) {
  // PCRE2 refuses UCP together with LITERAL (it has no meaning there).
  std::uint32_t flags = PCRE2_UTF | (options.literal ? PCRE2_LITERAL : PCRE2_UCP);
  if (options.invalid_utf8_never_matches) flags |= PCRE2_MATCH_INVALID_UTF;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags,
                                       &error_code, &error_offset, nullptr);
  if (compiled == nullptr) {
    throw Error(source, field,
                "regular expression does not compile at offset " + std::to_string(error_offset) + ": " +
                    pcre2_message(error_code));
  }
  code_ = std::make_shared<const Code>(compiled);
  // Without JIT (an unsupported platform) the interpreter gives the same matches, only slower.
  pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
}

Regex::Regex(std::string_view pattern) : Regex(pattern, "<built-in>", std::string(pattern)) {}

void Regex::find_all_spans(std::string_view subject,
                           std::vector<std::pair<std::size_t, std::size_t>>& spans) const {
  for_each_match(code_->code, subject, [&](const PCRE2_SIZE* ovector, std::uint32_t) {
    spans.emplace_back(ovector[0], ovector[1]);
  });
}

std::vector<RegexMatch> Regex::find_all(std::string_view subject) const {
  std::vector<RegexMatch> matches;
  for_each_match(code_->code, subject, [&](const PCRE2_SIZE* ovector, std::uint32_t pairs) {
    RegexMatch found;
    found.groups.resize(pairs);
    for (std::uint32_t i = 0; i < pairs; ++i) {
      if (ovector[2 * i] != PCRE2_UNSET) found.groups[i] = {ovector[2 * i], ovector[2 * i + 1]};
    }
    matches.push_back(std::move(found));
  });
  return matches;
}

std::string Regex::replace_all(std::string_view subject, std::string_view replacement) const {
  std::string output(subject.size() * 2 + 64, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    PCRE2_SIZE output_length = output.size();
    const int rc = pcre2_substitute(
        code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
        PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY, nullptr,
        nullptr, reinterpret_cast<PCRE2_SPTR>(replacement.data()), replacement.size(),
        reinterpret_cast<PCRE2_UCHAR*>(output.data()), &output_length);
    if (rc >= 0) {
      output.resize(output_length);
      return output;
    }
    if (rc != PCRE2_ERROR_NOMEMORY)
      throw std::runtime_error("regex substitution failed: " + pcre2_message(rc));
    output.assign(output_length, '\0');  // OVERFLOW_LENGTH reported the size needed
  }
  throw std::runtime_error("regex substitution failed: output size kept growing");
}

std::size_t Regex::match_length_at(std::string_view subject, std::size_t offset) const {
  const MatchData match(code_->code);
  if (run_match(code_->code, subject, offset, PCRE2_ANCHORED, match) == PCRE2_ERROR_NOMATCH) {
    return RegexMatch::kUnset;
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
  return ovector[1] - ovector[0];
}

}  // namespace remedi
