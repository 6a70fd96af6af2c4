// The byte-level BPE alphabet (GPT-2): each of the 256 byte values is spelled by one printable
// code point, so that vocabulary entries are text. Printable Latin-1 bytes spell themselves; the
// other 68 bytes, in increasing order, take U+0100, U+0101, ... (so a space is "Ġ", U+0120).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace remedi::tok {

char32_t byte_to_alphabet(unsigned char byte);

// The byte a code point spells, or nullopt when it is not in the alphabet.
std::optional<unsigned char> alphabet_to_byte(char32_t code_point);

// Raw bytes -> their alphabet spelling (UTF-8 encoded).
std::string to_alphabet(std::string_view bytes);

// Alphabet spelling -> raw bytes; nullopt if `text` holds a code point outside the alphabet (or is
// not valid UTF-8).
std::optional<std::string> from_alphabet(std::string_view text);

}  // namespace remedi::tok
