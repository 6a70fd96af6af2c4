// The project's UTF-8 module. Every expected lossy decoding below was computed with CPython 3.11's
// bytes.decode("utf-8", "replace") on the same bytes and written here as a literal. \x41 is "A"
// (a hex escape would swallow a following letter A-F).
#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace remedi {
namespace {

TEST(Utf8, LossyDecodingReplacesMaximalSubpartsLikePython) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      // A truncated sequence followed by a letter: one U+FFFD for E2 82, then the letter.
      {"\xE2\x82\x41", "\xEF\xBF\xBD\x41"},
      {"\xC2\x41", "\xEF\xBF\xBD\x41"},
      {"\xE1\x80\xE1\x80\x80", "\xEF\xBF\xBD\xE1\x80\x80"},
      {"\xF1\x80\x80\xC3\xA9", "\xEF\xBF\xBD\xC3\xA9"},
      // Truncated at the end of the input.
      {"\xE2\x82", "\xEF\xBF\xBD"},
      {"\xF0\x9F", "\xEF\xBF\xBD"},
      {"\xF0", "\xEF\xBF\xBD"},
      {"\xC2", "\xEF\xBF\xBD"},
      {"a\xF0\x9F\x98", "a\xEF\xBF\xBD"},
      {"\xC3\xA9\xE2", "\xC3\xA9\xEF\xBF\xBD"},
      // Surrogates: the second byte is out of range for ED, so every byte stands alone.
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xED\xBF\xBFx", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx"},
      // Overlong forms.
      {"\xC0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xC1\xBF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xE0\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xE0\x9F\xBF", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xF0\x80\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xF0\x8F\xBF\xBF", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      // The old 5- and 6-byte forms and other bytes that never lead.
      {"\xF8\x88\x80\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xFC\x84\x80\x80\x80\x80",
       "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xFE\xFF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\x80\xBF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
      // Above U+10FFFF, and the last code point that is not.
      {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xF5\x80\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
      {"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},
      // Valid text around and after invalid bytes is kept as is.
      {"\xF0\x9F\x98\x80\x80", "\xF0\x9F\x98\x80\xEF\xBF\xBD"},
      {"\xE2\x82\xACx\xFF", "\xE2\x82\xACx\xEF\xBF\xBD"},
      {"\xEF\xBF\xBD", "\xEF\xBF\xBD"},
      {"", ""},
  };
  for (const auto& [bytes, expected] : vectors) {
    EXPECT_EQ(decode_utf8_lossy(bytes), expected) << testing::PrintToString(bytes);
  }
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
}

TEST(Utf8, InvalidBytesAreSingleByteUnits) {
  for (const char* bytes : {"\xED\xA0\x80", "\xC0\x80", "\xE0\x80\x80", "\xF4\x90\x80\x80", "\xF8\x88",
                            "\xFF", "\x80", "\xE2\x82"}) {
    const DecodedCodePoint decoded = decode_utf8_at(bytes, 0);
    EXPECT_FALSE(decoded.valid) << testing::PrintToString(std::string(bytes));
    EXPECT_EQ(decoded.length, 1);
    EXPECT_EQ(decoded.code_point, U'\uFFFD');
  }
  // E2 82 "A": two invalid units, then the letter is found where it is.
  const std::string text = "\xE2\x82\x41";
  EXPECT_FALSE(decode_utf8_at(text, 0).valid);
  EXPECT_FALSE(decode_utf8_at(text, 1).valid);
  EXPECT_EQ(decode_utf8_at(text, 2).code_point, U'A');
}

TEST(Utf8, CodePointIndexOfBytes) {
  // "aé😀" + a stray continuation byte: 1 + 2 + 4 + 1 bytes, 4 code points.
  const std::string text = "a\xC3\xA9\xF0\x9F\x98\x80\x80";
  const std::vector<std::int64_t> expected = {0, 1, 1, 2, 2, 2, 2, 3, 4};
  EXPECT_EQ(code_point_index_of_bytes(text), expected);
  EXPECT_EQ(code_point_index_of_bytes(""), std::vector<std::int64_t>{0});
}

TEST(Utf8, WhiteSpaceSets) {
  for (const char32_t c : {U'\t', U'\n', U' ', U'\u0085', U'\u00A0', U'\u2028', U'\u3000'}) {
    EXPECT_TRUE(is_white_space(c));
    EXPECT_TRUE(is_python_space(c));
  }
  for (const char32_t c : {U'a', U'\u200B', U'\u180E', U'\u0120', U'\uFFFD'}) {
    EXPECT_FALSE(is_white_space(c));
    EXPECT_FALSE(is_python_space(c));
  }
  // The file/group/record/unit separators: str.isspace() is true, White_Space is false.
  for (const char32_t c : {U'\x1C', U'\x1D', U'\x1E', U'\x1F'}) {
    EXPECT_TRUE(is_python_space(c));
    EXPECT_FALSE(is_white_space(c));
  }
}

}  // namespace
}  // namespace remedi
