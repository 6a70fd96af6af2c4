#include "eval/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>
#include <new>
#include <stdexcept>

namespace remedi::eval {

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
// throws on any other failure (such as invalid UTF-8).
int run_match(const pcre2_code* code, std::string_view subject, std::size_t offset, std::uint32_t options,
              MatchData& match) {
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), offset,
                             options, match.data, nullptr);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
    throw std::runtime_error("regex match failed: " + pcre2_message(rc));
  return rc;
}

std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  return 4;
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern) : compiled_(std::make_unique<Compiled>()) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (compiled_->code == nullptr) {
    throw std::invalid_argument("regex does not compile at offset " + std::to_string(error_offset) + ": " +
                                pcre2_message(error_code) + " in " + pattern);
  }
  // JIT is an optimisation only; interpretation is used where it is unavailable.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::string Regex::replace_all(std::string_view subject, std::string_view replacement) const {
  std::string output(subject.size() * 2 + 64, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    PCRE2_SIZE output_length = output.size();
    const int rc = pcre2_substitute(
        compiled_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
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

std::vector<RegexMatch> Regex::find_all(std::string_view subject) const {
  MatchData match(compiled_->code);
  std::vector<RegexMatch> matches;
  std::size_t offset = 0;
  std::uint32_t options = 0;  // the first call validates the UTF-8 of the whole subject
  while (offset <= subject.size()) {
    const int rc = run_match(compiled_->code, subject, offset, options, match);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    options = PCRE2_NO_UTF_CHECK;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const std::uint32_t pairs = pcre2_get_ovector_count(match.data);
    RegexMatch found;
    found.groups.resize(pairs);
    for (std::uint32_t i = 0; i < pairs; ++i) {
      if (ovector[2 * i] != PCRE2_UNSET) found.groups[i] = {ovector[2 * i], ovector[2 * i + 1]};
    }
    const std::size_t begin = ovector[0];
    const std::size_t end = ovector[1];
    matches.push_back(std::move(found));
    if (end > begin) {
      offset = end;
    } else if (end < subject.size()) {
      offset = end + utf8_sequence_length(static_cast<unsigned char>(subject[end]));
    } else {
      break;
    }
  }
  return matches;
}

std::size_t Regex::match_length_at(std::string_view subject, std::size_t offset) const {
  MatchData match(compiled_->code);
  if (run_match(compiled_->code, subject, offset, PCRE2_ANCHORED, match) == PCRE2_ERROR_NOMATCH) {
    return RegexMatch::kUnset;
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
  return ovector[1] - ovector[0];
}

}  // namespace remedi::eval
