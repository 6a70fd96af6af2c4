// The one PCRE2 wrapper, used by the tokenizer's pre-tokenizer and by the text metrics.
#include "util/regex.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace remedi {
namespace {

using Spans = std::vector<std::pair<std::size_t, std::size_t>>;

Spans spans_of(const Regex& regex, std::string_view subject) {
  Spans spans;
  regex.find_all_spans(subject, spans);
  return spans;
}

TEST(Regex, FindAllGivesGroupsAndUnsetGroups) {
  const Regex regex(R"((\w+)(!)?)");
  const std::vector<RegexMatch> matches = regex.find_all("ab! c");
  ASSERT_EQ(matches.size(), 2U);
  ASSERT_EQ(matches[0].groups.size(), 3U);
  EXPECT_EQ(matches[0].groups[0].begin, 0U);
  EXPECT_EQ(matches[0].groups[0].end, 3U);
  EXPECT_EQ(matches[0].groups[1].end, 2U);
  EXPECT_TRUE(matches[0].groups[2].is_set());
  EXPECT_EQ(matches[1].groups[0].begin, 4U);
  EXPECT_FALSE(matches[1].groups[2].is_set());
  EXPECT_EQ(matches[1].groups[2].begin, RegexMatch::kUnset);
}

TEST(Regex, EmptyMatchesStepOverWholeCharacters) {
  // After an empty match the search resumes one character on, never inside "é" (2 bytes).
  EXPECT_EQ(spans_of(Regex("x*"), "\xC3\xA9x"), (Spans{{0, 0}, {2, 3}, {3, 3}}));
  EXPECT_EQ(Regex("x*").find_all("\xC3\xA9").size(), 2U);
}

TEST(Regex, UnicodeClassesAndReplacement) {
  EXPECT_EQ(spans_of(Regex(R"(\p{L}+)"), "a1 \xC3\xA9t\xC3\xA9"), (Spans{{0, 1}, {3, 8}}));
  EXPECT_EQ(Regex(R"(\b\w\w+\b)").find_all("a \xC3\xA9t\xC3\xA9 of").size(), 2U);
  EXPECT_EQ(Regex(R"((\w+)@(x)?)").replace_all("a@ b@x", "[$1|$2]"), "[a|] [b|x]");
  EXPECT_EQ(Regex("a").replace_all(std::string(200, 'a'), "bb"), std::string(400, 'b'));  // output grows
  EXPECT_EQ(Regex("b+").match_length_at("abbc", 1), 2U);
  EXPECT_EQ(Regex("b+").match_length_at("abbc", 0), RegexMatch::kUnset);  // anchored at the offset
}

TEST(Regex, LiteralPatterns) {
  const Regex literal("a.b", "tokenizer.json", "pre_tokenizer.pattern", {.literal = true});
  EXPECT_EQ(spans_of(literal, "axb a.b"), (Spans{{4, 7}}));
}

TEST(Regex, InvalidUtf8InTheSubject) {
  const std::string subject = "ab\xFF\x63\x64";  // \x63\x64 = "cd"
  EXPECT_THROW(Regex("c").find_all(subject), std::runtime_error);
  const Regex tolerant(R"(\p{L}+)", "t", "f", {.invalid_utf8_never_matches = true});
  EXPECT_EQ(spans_of(tolerant, subject), (Spans{{0, 2}, {3, 5}}));
  EXPECT_EQ(spans_of(Regex(".", "t", "f", {.invalid_utf8_never_matches = true}), "\xE2\x82\x41"),
            (Spans{{2, 3}}));  // \x41 = "A"
}

TEST(Regex, APatternThatDoesNotCompileNamesItsSource) {
  try {
    const Regex regex("(unclosed", "tokenizer.json", "pre_tokenizer.pattern");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "tokenizer.json");
    EXPECT_EQ(e.field(), "pre_tokenizer.pattern");
    EXPECT_EQ(e.reason().rfind("regular expression does not compile at offset 9: ", 0), 0U) << e.reason();
  }
  try {
    const Regex regex("[a");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "<built-in>");
    EXPECT_EQ(e.field(), "[a");
  }
}

}  // namespace
}  // namespace remedi
