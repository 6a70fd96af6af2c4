// GPT-2's byte alphabet (bytes_to_unicode).
#include "tok/byte_alphabet.h"

#include <gtest/gtest.h>

#include <string>

#include "tok/tokenizer.h"

namespace remedi::tok {
namespace {

TEST(ByteAlphabet, MatchesGpt2BytesToUnicode) {
  EXPECT_EQ(byte_to_alphabet(' '), U'\u0120');   // "Ġ"
  EXPECT_EQ(byte_to_alphabet('\n'), U'\u010A');  // "Ċ"
  EXPECT_EQ(byte_to_alphabet('A'), U'A');
  EXPECT_EQ(byte_to_alphabet(0x00), U'\u0100');
  EXPECT_EQ(byte_to_alphabet(0xAD), U'\u0143');  // the last of the 68 remapped bytes
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(from_alphabet(to_alphabet(all)), all);
  EXPECT_FALSE(from_alphabet("a b").has_value());  // a raw space is not in the alphabet
}

TEST(Utf8Length, CountsEachInvalidByteAsOneCodePoint) {
  EXPECT_EQ(utf8_length("a\xC3\xA9\xF0\x9F\x98\x80\x80"), 4);
  EXPECT_EQ(utf8_length(""), 0);
}

}  // namespace
}  // namespace remedi::tok
