// UTF-8 helpers and the byte alphabet. Expected replacement counts are Python's
// bytes.decode("utf-8", errors="replace") on the same bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tok/byte_alphabet.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

namespace remedi::tok {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

std::string replacements(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += kReplacement;
  return out;
}

TEST(Utf8, LossyDecodingReplacesMaximalSubpartsLikePython) {
  EXPECT_EQ(decode_utf8_lossy("\xE2\x82"), replacements(1));
  EXPECT_EQ(decode_utf8_lossy("\xF0\x80\x80"), replacements(3));  // overlong lead: every byte alone
  EXPECT_EQ(decode_utf8_lossy("\xED\xA0\x80"), replacements(3));  // surrogate
  EXPECT_EQ(decode_utf8_lossy("\xC0\xAF"), replacements(2));
  EXPECT_EQ(decode_utf8_lossy("\xF4\x90\x80\x80"), replacements(4));  // above U+10FFFF
  EXPECT_EQ(decode_utf8_lossy("a\xF0\x9F\x98"), "a" + replacements(1));
  EXPECT_EQ(decode_utf8_lossy("\xF0\x9F\x98\x80\x80"), "\xF0\x9F\x98\x80" + replacements(1));
  EXPECT_EQ(decode_utf8_lossy("\xE2\x82\xACx\xFF"), "\xE2\x82\xACx" + replacements(1));
  EXPECT_EQ(decode_utf8_lossy(""), "");
}

TEST(Utf8, CodePointIndexOfBytes) {
  // "aé😀" + a stray continuation byte: 1 + 2 + 4 + 1 bytes, 4 code points.
  const std::string text = "a\xC3\xA9\xF0\x9F\x98\x80\x80";
  const std::vector<std::int64_t> expected = {0, 1, 1, 2, 2, 2, 2, 3, 4};
  EXPECT_EQ(code_point_index_of_bytes(text), expected);
  EXPECT_EQ(utf8_length(text), 4);
}

TEST(Utf8, DecodeAndEncodeRoundTrip) {
  for (const char32_t c : {U'A', U'\u00E9', U'\u20AC', U'\U0001F600', U'\U0010FFFF'}) {
    std::string encoded;
    append_utf8(encoded, c);
    const DecodedCodePoint decoded = decode_utf8_at(encoded, 0);
    EXPECT_TRUE(decoded.valid);
    EXPECT_EQ(decoded.code_point, c);
    EXPECT_EQ(static_cast<std::size_t>(decoded.length), encoded.size());
  }
  EXPECT_FALSE(decode_utf8_at("\xED\xA0\x80", 0).valid);
}

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

TEST(Utf8, WhiteSpaceProperty) {
  for (const char32_t c : {U'\t', U'\n', U' ', U'\u0085', U'\u00A0', U'\u2028', U'\u3000'}) {
    EXPECT_TRUE(is_white_space(c));
  }
  for (const char32_t c : {U'a', U'\u200B', U'\u180E', U'\u0120'}) EXPECT_FALSE(is_white_space(c));
}

}  // namespace
}  // namespace remedi::tok
