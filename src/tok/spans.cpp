#include "tok/spans.h"

#include <string>

#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

// Quoted and shortened for one-line error messages.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxBytes = 120;
  if (text.size() <= kMaxBytes) return "\"" + std::string(text) + "\"";
  return "\"" + std::string(text.substr(0, kMaxBytes)) + "...\"";
}

}  // namespace

CharSpan find_occurrence(std::string_view text, std::string_view substring, int occurrence) {
  std::size_t byte_start = text.find(substring);
  for (int k = 0; k < occurrence && byte_start != std::string_view::npos; ++k) {
    // One character on, not one byte: the search unit of the original is a Python character.
    const std::size_t next =
        byte_start < text.size() ? byte_start + decode_utf8_at(text, byte_start).length : byte_start + 1;
    byte_start = text.find(substring, next);
  }
  if (byte_start == std::string_view::npos || occurrence < 0) {
    throw Error(
        "<string>", "substring",
        quoted(substring) + " has no occurrence " + std::to_string(occurrence) + " in " + quoted(text));
  }
  const std::int64_t start = utf8_length(text.substr(0, byte_start));
  return {start, start + utf8_length(substring)};
}

TokenRange token_range_for_span(const std::vector<Offset>& offsets, CharSpan span, SpanStartRule rule,
                                std::span<const std::int64_t> attention_mask) {
  if (!attention_mask.empty() && attention_mask.size() != offsets.size()) {
    throw Error(
        "<tokens>", "attention_mask",
        std::to_string(attention_mask.size()) + " entries for " + std::to_string(offsets.size()) + " tokens");
  }
  std::int64_t start_token = -1;
  std::int64_t end_token = -1;
  for (std::size_t t = 0; t < offsets.size() && end_token < 0; ++t) {
    if (!attention_mask.empty() && attention_mask[t] == 0) continue;
    const Offset& offset = offsets[t];
    // A token that covers no character (the BOS a tokenizer adds, offsets {0, 0}) cannot hold the
    // span's first character; under the inclusive rule it would start every span at character 0.
    const bool covers_start =
        rule == SpanStartRule::Inclusive
            ? offset.start < offset.end && offset.start <= span.start && span.start <= offset.end
            : offset.start <= span.start && span.start < offset.end;
    if (start_token < 0 && covers_start) start_token = static_cast<std::int64_t>(t);
    if (offset.start <= span.end && span.end <= offset.end) end_token = static_cast<std::int64_t>(t);
  }
  if (start_token < 0 || end_token < 0) {
    throw Error(
        "<tokens>", "span",
        "no token covers characters [" + std::to_string(span.start) + ", " + std::to_string(span.end) + ")");
  }
  return {start_token, end_token + 1};
}

TokenRange token_range(const std::vector<Offset>& offsets, std::string_view text, std::string_view substring,
                       int occurrence, SpanStartRule rule, std::span<const std::int64_t> attention_mask) {
  return token_range_for_span(offsets, find_occurrence(text, substring, occurrence), rule, attention_mask);
}

TokenRange last_token(TokenRange range) { return {range.end - 1, range.end}; }

TokenRange negative_range(TokenRange range, std::int64_t length) {
  return {range.begin - length, range.end - length};
}

std::int64_t utf8_length(std::string_view text) {
  std::int64_t count = 0;
  for (std::size_t pos = 0; pos < text.size(); pos += decode_utf8_at(text, pos).length) ++count;
  return count;
}

}  // namespace remedi::tok
