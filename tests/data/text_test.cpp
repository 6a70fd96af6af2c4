#include "data/text.h"

#include <gtest/gtest.h>

namespace remedi::data {
namespace {

// Expected values are what CPython 3.11 returns for the same calls.
TEST(PythonString, StripWithCharacterSet) {
  EXPECT_EQ(strip_chars(", who holds a citizenship from Sweden", ",-;: "),
            "who holds a citizenship from Sweden");
  EXPECT_EQ(strip_chars("* \u2022 Bio text. \u2022*", "*\u2022 "), "Bio text.");
  EXPECT_EQ(rstrip_chars("X lives in Paris.. ", ". "), "X lives in Paris");
  EXPECT_EQ(lstrip_chars("...", "."), "");
}

TEST(PythonString, StripAndSplitUseUnicodeWhitespace) {
  EXPECT_EQ(strip_whitespace("\u00a0\t It is 27\u00a0km.\n"), "It is 27\u00a0km.");
  EXPECT_EQ(split_whitespace("It is 27\u00a0km.  Ok"),
            (std::vector<std::string>{"It", "is", "27", "km.", "Ok"}));
  EXPECT_TRUE(split_whitespace(" \u2003 ").empty());
}

TEST(PythonString, SplitOnSeparator) {
  EXPECT_EQ(split_on("a. b. c", ". "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split_on(". x. ", ". "), (std::vector<std::string>{"", "x", ""}));
  EXPECT_EQ(text_after_last("one (b. two (b. three", " (b. "), "three");
  EXPECT_EQ(text_after_last("no separator", "|"), "no separator");
}

TEST(PythonString, ReplaceAndCountIncludingEmptyNeedle) {
  EXPECT_EQ(replace_all("aaa", "aa", "b"), "ba");
  EXPECT_EQ(replace_all("Dr. Smith met Smith", "Smith", "Ann"), "Dr. Ann met Ann");
  // "ab".replace("", "-") == "-a-b-"; code points, not bytes.
  EXPECT_EQ(replace_all("a\u00e9", "", "-"), "-a-\u00e9-");
  EXPECT_EQ(count_occurrences("aaaa", "aa"), 2U);
  EXPECT_EQ(count_occurrences("a\u00e9", ""), 3U);
  EXPECT_EQ(count_occurrences("Annie and Ann", "Ann"), 2U);
}

TEST(PythonString, CapitalizeAndUpper) {
  EXPECT_EQ(capitalize_ascii("prof."), "Prof.");
  EXPECT_EQ(capitalize_ascii("mRS"), "Mrs");
  EXPECT_EQ(upper_ascii("rev."), "REV.");
}

TEST(PythonString, InvalidBytesAreOneCodePointThatIsNotWhitespace) {
  // A lone \x85 or \xA0 byte is not NEL or NBSP: only the decoded code points are whitespace
  // (\x62 = "b").
  EXPECT_EQ(split_whitespace("a\x85\x62 \xA0"), (std::vector<std::string>{"a\x85\x62", "\xA0"}));
  EXPECT_EQ(strip_whitespace(" \xFF\xE2\x80 "), "\xFF\xE2\x80");
  EXPECT_EQ(count_occurrences("a\xFF\xE2\x80", ""), 5U);  // 4 code points + 1
  EXPECT_EQ(replace_all("\xE2\x80", "", "|"), "|\xE2|\x80|");
}

}  // namespace
}  // namespace remedi::data
