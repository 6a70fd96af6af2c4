#include "eval/utf8.h"

#include <vector>

namespace remedi::eval {

namespace {

// Length of the well-formed UTF-8 sequence at `pos` (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF), or 0 if the bytes there do not form one.
std::size_t valid_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const std::size_t left = text.size() - pos;
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  const auto continuation = [&](std::size_t i) { return i < left && (byte(i) & 0xC0) == 0x80; };
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = valid_sequence_length(text, pos);
    if (length == 0) {
      append_utf8(out, U'\uFFFD');
      ++pos;
    } else {
      out.append(text.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

char32_t decode_utf8(std::string_view text, std::size_t pos, std::size_t& length) {
  const auto byte = [&](std::size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]));
  };
  const char32_t lead = byte(0);
  if (lead < 0x80) {
    length = 1;
    return lead;
  }
  if (lead < 0xE0) {
    length = 2;
    return ((lead & 0x1F) << 6) | (byte(1) & 0x3F);
  }
  if (lead < 0xF0) {
    length = 3;
    return ((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  }
  length = 4;
  return ((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::vector<std::string> split_on_python_space(std::string_view text) {
  std::vector<std::string> pieces;
  std::size_t pos = 0;
  std::size_t piece_start = std::string_view::npos;
  while (pos < text.size()) {
    std::size_t length = 0;
    const bool space = is_python_space(decode_utf8(text, pos, length));
    if (space && piece_start != std::string_view::npos) {
      pieces.emplace_back(text.substr(piece_start, pos - piece_start));
      piece_start = std::string_view::npos;
    } else if (!space && piece_start == std::string_view::npos) {
      piece_start = pos;
    }
    pos += length;
  }
  if (piece_start != std::string_view::npos) pieces.emplace_back(text.substr(piece_start));
  return pieces;
}

std::size_t python_rstrip_length(std::string_view text) {
  std::size_t kept = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t length = 0;
    const bool space = is_python_space(decode_utf8(text, pos, length));
    pos += length;
    if (!space) kept = pos;
  }
  return kept;
}

}  // namespace remedi::eval
