// UTF-8 helpers for the text metrics: decoding, repair of invalid bytes, and Python's notion of
// whitespace (str.isspace), which the NLTK and scikit-learn rules we mimic are written against.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tok/utf8.h"

namespace remedi::eval {

// Replaces every byte that is not part of a well-formed UTF-8 sequence by U+FFFD, as Python's
// `bytes.decode("utf-8", errors="replace")` does for HF decodes. Valid text is returned unchanged.
std::string sanitize_utf8(std::string_view text);

// Decodes the code point that starts at `pos` of valid UTF-8 `text`; `length` receives its size.
char32_t decode_utf8(std::string_view text, std::size_t pos, std::size_t& length);
using tok::append_utf8;  // one UTF-8 encoder for the project

// Python's str.isspace for one code point: \t..\r, \x1c..\x1f, space, \x85 and Unicode Z* (Zs, Zl, Zp).
bool is_python_space(char32_t code_point);

// The same set as a regex character class (for patterns that mimic Python's `\s`).
inline constexpr std::string_view kPythonSpaceClass = R"([\t-\r\x{1c}-\x{20}\x{85}\p{Z}])";
inline constexpr std::string_view kPythonNonSpaceClass = R"([^\t-\r\x{1c}-\x{20}\x{85}\p{Z}])";

// Python's str.split() with no argument: pieces between runs of whitespace, none empty.
std::vector<std::string> split_on_python_space(std::string_view text);
// Python's str.rstrip() with no argument, as a byte length of the kept prefix.
std::size_t python_rstrip_length(std::string_view text);

}  // namespace remedi::eval
