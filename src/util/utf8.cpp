#include "util/utf8.h"

namespace remedi {

namespace {

bool is_continuation(unsigned char byte) { return (byte & 0xC0U) == 0x80U; }

// For a lead byte: the sequence length and the allowed range of the second byte (the first
// continuation byte is where overlongs, surrogates and > U+10FFFF are excluded). Length 0: not a
// lead byte (continuation bytes, C0, C1 and F5..FF, which include the old 5- and 6-byte leads).
struct LeadByte {
  int length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
};

LeadByte classify_lead(unsigned char byte) {
  if (byte < 0x80) return {1, 0, 0};
  if (byte >= 0xC2 && byte <= 0xDF) return {2, 0x80, 0xBF};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};
  if (byte == 0xED) return {3, 0x80, 0x9F};
  if (byte >= 0xE1 && byte <= 0xEF) return {3, 0x80, 0xBF};
  if (byte == 0xF0) return {4, 0x90, 0xBF};
  if (byte >= 0xF1 && byte <= 0xF3) return {4, 0x80, 0xBF};
  if (byte == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

// The number of bytes from `pos` that form a well-formed prefix of a sequence (at least 1), and
// whether that prefix is a whole code point. An incomplete prefix is a maximal ill-formed
// subsequence: Python replaces it by one U+FFFD.
struct Prefix {
  int length = 1;
  bool complete = false;
};

Prefix well_formed_prefix(std::string_view text, std::size_t pos) {
  const LeadByte info = classify_lead(static_cast<unsigned char>(text[pos]));
  if (info.length == 0) return {1, false};
  if (info.length == 1) return {1, true};
  int length = 1;
  for (int k = 1; k < info.length; ++k) {
    if (pos + k >= text.size()) return {length, false};
    const auto byte = static_cast<unsigned char>(text[pos + k]);
    const bool ok = k == 1 ? (byte >= info.second_min && byte <= info.second_max) : is_continuation(byte);
    if (!ok) return {length, false};
    ++length;
  }
  return {length, true};
}

}  // namespace

DecodedCodePoint decode_utf8_at(std::string_view text, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const Prefix prefix = well_formed_prefix(text, pos);
  if (!prefix.complete) return {U'\uFFFD', 1, false};
  if (prefix.length == 1) return {lead, 1, true};
  char32_t value = lead & (0x7FU >> prefix.length);
  for (int k = 1; k < prefix.length; ++k) {
    value = (value << 6) | (static_cast<unsigned char>(text[pos + k]) & 0x3FU);
  }
  return {value, prefix.length, true};
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

std::string decode_utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const Prefix prefix = well_formed_prefix(bytes, pos);
    if (prefix.complete) {
      out.append(bytes.substr(pos, prefix.length));
    } else {
      append_utf8(out, U'\uFFFD');
    }
    pos += prefix.length;
  }
  return out;
}

std::vector<std::int64_t> code_point_index_of_bytes(std::string_view text) {
  std::vector<std::int64_t> index(text.size() + 1);
  std::int64_t code_point = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const int length = decode_utf8_at(text, pos).length;
    for (int k = 0; k < length; ++k) index[pos + k] = code_point;
    pos += length;
    ++code_point;
  }
  index[text.size()] = code_point;
  return index;
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_white_space(char32_t c) { return is_python_space(c) && !(c >= 0x1C && c <= 0x1F); }

}  // namespace remedi
