// UTF-8 for the whole project: one decoder, the encoder, Python's "replace" repair, and the two
// whitespace sets the code mimics (Python's str.isspace and Unicode's White_Space, which HF
// tokenizers use through Rust's char::is_whitespace).
//
// Invalid bytes are never an error here. Well-formed means RFC 3629, as Python and Rust decode:
// no overlong forms, no surrogates (ED A0..BF ..), nothing above U+10FFFF, no 5- or 6-byte forms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remedi {

struct DecodedCodePoint {
  char32_t code_point = 0;  // U+FFFD when !valid
  int length = 1;           // bytes consumed: 1..4, and 1 when !valid
  bool valid = true;
};

// Decodes the sequence starting at `text[pos]` (pos < text.size()). A byte that does not start a
// well-formed sequence stands alone: length 1, !valid. Scanners step by `length`, so each invalid
// byte is one unit and no input can make them stall or skip a valid character.
DecodedCodePoint decode_utf8_at(std::string_view text, std::size_t pos);

void append_utf8(std::string& out, char32_t code_point);

// Bytes -> valid UTF-8 with one U+FFFD per maximal ill-formed subsequence (the longest start of a
// well-formed sequence, else one byte): what CPython's bytes.decode("utf-8", "replace") and Rust's
// String::from_utf8_lossy (hence HF decode) produce, e.g. E2 82 41 -> U+FFFD "A". Valid text is
// returned unchanged.
std::string decode_utf8_lossy(std::string_view bytes);

// `result[b]` = index of the code point that byte `b` belongs to, each invalid byte counting as one
// code point (decode_utf8_at's units); `result[text.size()]` = number of code points. Lets offsets
// computed on bytes be reported in code points in O(1).
std::vector<std::int64_t> code_point_index_of_bytes(std::string_view text);

// Python's str.isspace for one code point: \t..\r, \x1c..\x1f, space, \x85 and Unicode Z* (Zs, Zl, Zp).
bool is_python_space(char32_t code_point);
// The same set as a PCRE2 character class (for patterns that mimic Python's `\s`, which PCRE2's
// `\s` does not fully cover), and its complement.
inline constexpr std::string_view kPythonSpaceClass = R"([\t-\r\x{1c}-\x{20}\x{85}\p{Z}])";
inline constexpr std::string_view kPythonNonSpaceClass = R"([^\t-\r\x{1c}-\x{20}\x{85}\p{Z}])";

// Unicode White_Space property (Rust's char::is_whitespace): Python's set without \x1c..\x1f.
bool is_white_space(char32_t code_point);

}  // namespace remedi
