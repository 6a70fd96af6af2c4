// UTF-8 helpers shared by the tokenizer and the span finder. Invalid bytes are never an error here:
// each byte that does not start a well-formed sequence counts as one code point of its own, so
// byte offsets of any input map to code-point offsets (the unit of HF `offset_mapping`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::tok {

struct DecodedCodePoint {
  char32_t code_point = 0;
  int length = 1;     // bytes consumed (1..4)
  bool valid = true;  // false: `length` is 1 and `code_point` is the raw byte value
};

// Decodes the sequence starting at `text[pos]` (pos < text.size()). Overlong forms, surrogates and
// values above U+10FFFF are invalid, as in Python and Rust.
DecodedCodePoint decode_utf8_at(std::string_view text, std::size_t pos);

void append_utf8(std::string& out, char32_t code_point);

// `result[b]` = index of the code point that byte `b` belongs to; `result[text.size()]` = number of
// code points. Lets offsets computed on bytes be reported in code points in O(1).
std::vector<std::int64_t> code_point_index_of_bytes(std::string_view text);

// Bytes -> valid UTF-8, each maximal ill-formed subsequence replaced by U+FFFD: what Python's
// bytes.decode(errors="replace") and Rust's String::from_utf8_lossy (hence HF decode) produce.
std::string decode_utf8_lossy(std::string_view bytes);

// Unicode White_Space property (Rust's char::is_whitespace).
bool is_white_space(char32_t code_point);

}  // namespace remedi::tok
