// String operations with the exact semantics of the Python `str` methods the original converters
// use. The converted data sets must match the original's, including its edge cases: an empty
// search string in replace()/count(), Unicode whitespace in strip()/split(), splitting on the last
// occurrence. Strings are UTF-8; where Python counts code points, so do these functions (an invalid
// byte counts as one code point that is not whitespace: util/utf8.h's decode_utf8_at).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::data {

// str.strip(chars) / lstrip / rstrip with an explicit character set (each code point of `chars`).
std::string strip_chars(std::string_view text, std::string_view chars);
std::string lstrip_chars(std::string_view text, std::string_view chars);
std::string rstrip_chars(std::string_view text, std::string_view chars);

// str.strip() / str.rstrip() with no argument: remove whitespace (str.isspace, util/utf8.h's
// is_python_space) from both ends / the end.
std::string strip_whitespace(std::string_view text);
std::string rstrip_whitespace(std::string_view text);

// str.split() with no argument: splits on runs of Unicode whitespace, drops empty pieces.
std::vector<std::string> split_whitespace(std::string_view text);

// str.split(separator) for a non-empty separator: every piece, empty ones included.
std::vector<std::string> split_on(std::string_view text, std::string_view separator);

// str.split(separator)[-1]: the text after the last occurrence, or all of it if absent.
std::string text_after_last(std::string_view text, std::string_view separator);

// str.replace(from, to): every non-overlapping occurrence, left to right. An empty `from` inserts
// `to` before every code point and at the end, as Python does.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

// str.count(needle): non-overlapping occurrences; an empty needle counts code points + 1.
std::size_t count_occurrences(std::string_view text, std::string_view needle);

// str.capitalize() and str.upper() for ASCII text (the honorifics they are used on are ASCII).
std::string capitalize_ascii(std::string_view text);
std::string upper_ascii(std::string_view text);

}  // namespace remedi::data
