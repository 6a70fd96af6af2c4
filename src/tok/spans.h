// Substring occurrence -> token range, exactly as METHOD §4.1-4.3 (REMEDI's own rule), on the
// code-point offsets of tok::Encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tok/tokenizer.h"

namespace remedi::tok {

struct TokenRange {
  std::int64_t begin = 0;  // token indices, [begin, end); negative ranges count from the row's end
  std::int64_t end = 0;
  bool operator==(const TokenRange&) const = default;
};

// Code-point span [start, end) of a substring inside its string.
struct CharSpan {
  std::int64_t start = 0;
  std::int64_t end = 0;
  bool operator==(const CharSpan&) const = default;
};

// METHOD Q10. Inclusive (the original, default): the start token is the first with start <= cs <= end,
// so a token ending exactly where the substring begins ("(" in "(Paris") is included, but never one
// with start == end (a BOS/EOS added by Tokenizer::encode(text, true), offsets {0, 0}). Strict:
// start <= cs < end. The end token is always the first with start <= ce <= end.
enum class SpanStartRule { Inclusive, Strict };

// Span of occurrence `occurrence` (0-based) of `substring` in `text`. Occurrences may overlap:
// each search restarts one character after the previous hit. Throws remedi::Error whose message
// contains the substring when there are not enough occurrences.
CharSpan find_occurrence(std::string_view text, std::string_view substring, int occurrence = 0);

// Token range covering `span`, scanning `offsets` in order (padded order as fed to the model).
// `attention_mask` (one entry per token, 0 = pad; empty = no padding) excludes pad tokens from
// the scan (METHOD Q7: a left pad's (0, 0) offset would otherwise match a span starting at 0). Throws
// remedi::Error when no token covers the start or the end (e.g. the span was truncated away).
TokenRange token_range_for_span(const std::vector<Offset>& offsets, CharSpan span,
                                SpanStartRule rule = SpanStartRule::Inclusive,
                                std::span<const std::int64_t> attention_mask = {});

// find_occurrence + token_range_for_span.
TokenRange token_range(const std::vector<Offset>& offsets, std::string_view text, std::string_view substring,
                       int occurrence = 0, SpanStartRule rule = SpanStartRule::Inclusive,
                       std::span<const std::int64_t> attention_mask = {});

// `.last` of [i, j): [j - 1, j).
TokenRange last_token(TokenRange range);

// [i - length, j - length): the same tokens addressed from the end of a row of `length` real
// tokens, for use on a left-padded tensor (position = padded width + index). METHOD Q6: a range ending
// at the last token gives end 0, which Python slicing reads as empty; callers decide (METHOD §11).
TokenRange negative_range(TokenRange range, std::int64_t length);

}  // namespace remedi::tok
