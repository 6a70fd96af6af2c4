#include "tok/byte_alphabet.h"

#include <array>

#include "util/utf8.h"

namespace remedi::tok {

namespace {

bool spells_itself(unsigned byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

struct Alphabet {
  std::array<char32_t, 256> of_byte{};
  // Every alphabet code point is below U+0100 + 68.
  std::array<int, 0x100 + 68> byte_of{};

  Alphabet() {
    byte_of.fill(-1);
    char32_t next_extra = 0x100;
    for (unsigned byte = 0; byte < 256; ++byte) {
      of_byte[byte] = spells_itself(byte) ? static_cast<char32_t>(byte) : next_extra++;
      byte_of[of_byte[byte]] = static_cast<int>(byte);
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

}  // namespace

char32_t byte_to_alphabet(unsigned char byte) { return alphabet().of_byte[byte]; }

std::optional<unsigned char> alphabet_to_byte(char32_t code_point) {
  const auto& table = alphabet().byte_of;
  if (code_point >= table.size() || table[code_point] < 0) return std::nullopt;
  return static_cast<unsigned char>(table[code_point]);
}

std::string to_alphabet(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes) append_utf8(out, byte_to_alphabet(static_cast<unsigned char>(byte)));
  return out;
}

std::optional<std::string> from_alphabet(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    if (!decoded.valid) return std::nullopt;
    const auto byte = alphabet_to_byte(decoded.code_point);
    if (!byte) return std::nullopt;
    out.push_back(static_cast<char>(*byte));
    pos += decoded.length;
  }
  return out;
}

}  // namespace remedi::tok
