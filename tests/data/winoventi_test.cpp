#include "data/winoventi.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "util/error.h"

namespace remedi::data {
namespace {

TEST(WinoVenti, ConvertsTheOriginalFile) {
  const std::vector<MediationSample> samples =
      load_winoventi(test::data_path("winoventi/winoventi_bert_large_final.tsv"));
  ASSERT_EQ(samples.size(), 2632U);  // rows kept by the original's filter (4352 in the file)
  const MediationSample& first = samples[0];
  EXPECT_EQ(first.id, "syrup_edible_malodorous");
  EXPECT_EQ(first.entity, "syrup");
  EXPECT_EQ(first.context, "Margaret smelled her bottle of maple syrup and it was sweet");
  EXPECT_EQ(first.attribute, "and it was sweet");
  EXPECT_EQ(first.prompt, "The syrup is");
  EXPECT_EQ(first.target_mediated, "edible");
  EXPECT_EQ(first.target_unmediated, "malodorous");
  EXPECT_EQ(first.source["test_type"], 1);
  EXPECT_EQ(first.source["Associative Bias"], "edible");
}

TEST(WinoVenti, FilterRules) {
  const std::string header =
      "Word\tAssociative "
      "Bias\tAlternative\tbiased_word_context\tadversarial_word_context\tmasked_prompt\ttarget\t"
      "incorrect\ttest_type\n";
  const auto convert = [&](const std::string& row) {
    return convert_winoventi(parse_delimited(header + row, '\t', "wv.tsv"));
  };
  EXPECT_EQ(convert("cup\ta\tb\thot\tcold\tThe cup was hot. The cup is [MASK].\tx\ty\t1\n").size(), 1U);
  // Extra period, three mentions, context string before the word, or missing: dropped.
  EXPECT_TRUE(convert("cup\ta\tb\thot\tcold\tThe cup was hot. Yes. The cup is [MASK].\tx\ty\t1\n").empty());
  EXPECT_TRUE(convert("cup\ta\tb\thot\tcold\tThe cup cup was hot. The cup is [MASK].\tx\ty\t1\n").empty());
  EXPECT_TRUE(convert("cup\ta\tb\thot\tcold\tA hot cup was here. The cup is [MASK].\tx\ty\t1\n").empty());
  // Kept by the filter but not convertible (the original asserts): an error naming the row.
  try {
    convert("cup\ta\tb\thot\tcold\tThe cup cup was hot. Then it is [MASK].\tx\ty\t1\n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "wv.tsv: line 2: masked_prompt: the Word must occur once in each of the two sentences");
  }
  EXPECT_THROW(convert_winoventi(parse_delimited("Word\tmasked_prompt\nx\ty\n", '\t', "wv.tsv")), Error);
}

TEST(Delimited, QuotedFieldsAndErrors) {
  const DelimitedTable table = parse_delimited(
      "\xEF\xBB\xBF"
      "a,b\r\n\"x, \"\"y\"\"\nz\",2\n\n3,4\n",
      ',', "t.csv");
  ASSERT_EQ(table.rows.size(), 2U);
  EXPECT_EQ(table.rows[0][0], "x, \"y\"\nz");
  EXPECT_EQ(table.where(1), "line 5");
  EXPECT_EQ(table.column("b"), 1U);
  EXPECT_THROW(table.column("c"), Error);
  EXPECT_THROW(parse_delimited("a,b\n1,2,3\n", ',', "t.csv"), Error);
  EXPECT_THROW(parse_delimited("a,b\n\"1,2\n", ',', "t.csv"), Error);
  EXPECT_THROW(parse_delimited("", ',', "t.csv"), Error);
}

}  // namespace
}  // namespace remedi::data
