#include "data/text.h"

#include <algorithm>
#include <cctype>

#include "util/utf8.h"

namespace remedi::data {

namespace {

std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> points;
  for (std::size_t pos = 0; pos < text.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    points.push_back(decoded.code_point);
    pos += decoded.length;
  }
  return points;
}

// Byte offset where the leading run of code points satisfying `strip` ends.
template <typename Predicate>
std::size_t leading_run(std::string_view text, Predicate strip) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    if (!strip(decoded.code_point)) break;
    pos += decoded.length;
  }
  return pos;
}

// Byte offset where the trailing run of code points satisfying `strip` starts.
template <typename Predicate>
std::size_t trailing_run(std::string_view text, Predicate strip) {
  std::size_t end = 0;  // end of the last code point that is kept
  for (std::size_t pos = 0; pos < text.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    pos += decoded.length;
    if (!strip(decoded.code_point)) end = pos;
  }
  return end;
}

}  // namespace

std::string lstrip_chars(std::string_view text, std::string_view chars) {
  const std::vector<char32_t> set = code_points(chars);
  const auto in_set = [&](char32_t c) { return std::find(set.begin(), set.end(), c) != set.end(); };
  return std::string(text.substr(leading_run(text, in_set)));
}

std::string rstrip_chars(std::string_view text, std::string_view chars) {
  const std::vector<char32_t> set = code_points(chars);
  const auto in_set = [&](char32_t c) { return std::find(set.begin(), set.end(), c) != set.end(); };
  return std::string(text.substr(0, trailing_run(text, in_set)));
}

std::string strip_chars(std::string_view text, std::string_view chars) {
  return lstrip_chars(rstrip_chars(text, chars), chars);
}

std::string strip_whitespace(std::string_view text) {
  const std::size_t end = trailing_run(text, is_python_space);
  const std::string_view kept = text.substr(0, end);
  return std::string(kept.substr(leading_run(kept, is_python_space)));
}

std::string rstrip_whitespace(std::string_view text) {
  return std::string(text.substr(0, trailing_run(text, is_python_space)));
}

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (std::size_t pos = 0; pos < text.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    if (is_python_space(decoded.code_point)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current.append(text.substr(pos, decoded.length));
    }
    pos += decoded.length;
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::vector<std::string> split_on(std::string_view text, std::string_view separator) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  for (std::size_t found = text.find(separator); found != std::string_view::npos && !separator.empty();
       found = text.find(separator, start)) {
    pieces.emplace_back(text.substr(start, found - start));
    start = found + separator.size();
  }
  pieces.emplace_back(text.substr(start));
  return pieces;
}

std::string text_after_last(std::string_view text, std::string_view separator) {
  const std::size_t found = text.rfind(separator);
  if (separator.empty() || found == std::string_view::npos) return std::string(text);
  return std::string(text.substr(found + separator.size()));
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string result;
  if (from.empty()) {
    for (std::size_t pos = 0; pos < text.size();) {
      const int length = decode_utf8_at(text, pos).length;
      result.append(to);
      result.append(text.substr(pos, length));
      pos += length;
    }
    result.append(to);
    return result;
  }
  std::size_t start = 0;
  for (std::size_t found = text.find(from); found != std::string_view::npos; found = text.find(from, start)) {
    result.append(text.substr(start, found - start));
    result.append(to);
    start = found + from.size();
  }
  result.append(text.substr(start));
  return result;
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  if (needle.empty()) return code_points(text).size() + 1;
  std::size_t count = 0;
  for (std::size_t found = text.find(needle); found != std::string_view::npos;
       found = text.find(needle, found + needle.size())) {
    ++count;
  }
  return count;
}

std::string capitalize_ascii(std::string_view text) {
  std::string result(text);
  for (std::size_t i = 0; i < result.size(); ++i) {
    const auto c = static_cast<unsigned char>(result[i]);
    result[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return result;
}

std::string upper_ascii(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

}  // namespace remedi::data
