#include <gtest/gtest.h>

#include "data/derived.h"
#include "data/splits.h"
#include "util/error.h"

namespace remedi::data {
namespace {

std::vector<std::size_t> range(std::size_t begin, std::size_t end) {
  std::vector<std::size_t> rows;
  for (std::size_t i = begin; i < end; ++i) rows.push_back(i);
  return rows;
}

TEST(Splits, SelectsRowsByFileOrder) {
  EXPECT_EQ(select_rows("train", 4), range(0, 4));
  EXPECT_EQ(select_rows("train[:5000]", 21919), range(0, 5000));
  EXPECT_EQ(select_rows("train[5000:10000]", 21919), range(5000, 10000));
  EXPECT_EQ(select_rows("train[5000:6000]", 21919), range(5000, 6000));
  EXPECT_EQ(select_rows("train[5000:]", 5003), range(5000, 5003));
}

TEST(Splits, ShortDataSetGivesShortSlice) {
  EXPECT_EQ(select_rows("train[5000:10000]", 7000), range(5000, 7000));
  EXPECT_TRUE(select_rows("train[5000:10000]", 3000).empty());
  EXPECT_TRUE(select_rows("train[8:2]", 10).empty());
}

TEST(Splits, NegativeBoundsPercentagesAndConcatenation) {
  EXPECT_EQ(select_rows("train[-3:]", 10), range(7, 10));
  EXPECT_EQ(select_rows("train[:-8]", 10), range(0, 2));
  // 10% of 25 rows = 2.5 -> 2 (ties to even, as Python's round()); 30% = 7.5 -> 8.
  EXPECT_EQ(select_rows("train[:10%]", 25), range(0, 2));
  EXPECT_EQ(select_rows("train[:30%]", 25), range(0, 8));
  std::vector<std::size_t> joined = range(0, 2);
  joined.push_back(5);
  EXPECT_EQ(select_rows("train[:2]+train[5:6]", 10), joined);
  EXPECT_EQ(select_split(std::vector<int>{10, 11, 12}, "train[1:]"), (std::vector<int>{11, 12}));
}

TEST(Splits, MinusZeroIsZeroAsInPython) {
  // Python: list(range(10))[:-0] == [] and list(range(10))[-0:] == all ten rows.
  EXPECT_TRUE(select_rows("train[:-0]", 10).empty());
  EXPECT_EQ(select_rows("train[-0:]", 10), range(0, 10));
  EXPECT_TRUE(select_rows("train[:-0%]", 10).empty());
  EXPECT_EQ(select_rows("train[-0:-0]", 10), std::vector<std::size_t>{});
}

TEST(Splits, StepTakesEveryKthRowLikeAPythonSlice) {
  EXPECT_EQ(select_rows("train[1::2]", 7), (std::vector<std::size_t>{1, 3, 5}));
  EXPECT_EQ(select_rows("train[::3]", 7), (std::vector<std::size_t>{0, 3, 6}));
  EXPECT_EQ(select_rows("train[2:6:]", 10), range(2, 6));  // empty step: 1
  EXPECT_EQ(select_rows("train[:3]+train[4:9:4]", 10), (std::vector<std::size_t>{0, 1, 2, 4, 8}));
}

TEST(Splits, RejectsBadSpecs) {
  for (const char* spec : {"", "test", "train[1]", "train[a:b]", "train[:5", "train[:150%]", "train[::0]",
                           "train[::-1]", "train[1:2:x]"}) {
    EXPECT_THROW(select_rows(spec, 10), Error) << spec;
  }
  try {
    select_rows("validation[:5]", 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), "<argument>");
    EXPECT_NE(std::string(e.what()).find("validation"), std::string::npos);
  }
}

TEST(Splits, HoldOutTakesCeilTenPercentDeterministically) {
  const HoldOutSplit split = hold_out_split(5000, 0.1, 123456);
  EXPECT_EQ(split.validation.size(), 500U);
  EXPECT_EQ(split.train.size(), 4500U);
  std::vector<std::size_t> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, range(0, 5000));
  EXPECT_EQ(hold_out_split(5000, 0.1, 123456).validation, split.validation);
  EXPECT_NE(hold_out_split(5000, 0.1, 7).validation, split.validation);
  EXPECT_EQ(hold_out_split(11, 0.1, 1).validation.size(), 2U);  // ceil(1.1)
  // The permutation is CPython's random.Random(123456).shuffle(list(range(10))).
  const HoldOutSplit small = hold_out_split(10, 0.1, 123456);
  EXPECT_EQ(small.validation, (std::vector<std::size_t>{7}));
  EXPECT_EQ(small.train, (std::vector<std::size_t>{3, 1, 9, 6, 5, 8, 2, 0, 4}));
  EXPECT_THROW(hold_out_split(10, 1.5, 1), Error);
}

TEST(DerivedStrings, PromptInContextSpecVectors) {
  EXPECT_EQ(prompt_in_context("X", "X is", "X lives in Paris.."), "X lives in Paris. X is");
  PromptInContextOptions blank_line;
  blank_line.context_suffix = "\n\n";
  EXPECT_EQ(prompt_in_context("X", "X is", "X lives in Paris..", blank_line), "X lives in Paris.\n\nX is");
}

TEST(DerivedStrings, PrefixesLowerCaseUnlessTheEntityStarts) {
  PromptInContextOptions options;
  options.context_prefix = "Suppose";
  options.prompt_prefix = "Then, ";
  EXPECT_EQ(prompt_in_context("Paris", "The capital is", "Paris is in Italy", options),
            "Suppose Paris is in Italy. Then, the capital is");
  EXPECT_EQ(prompt_in_context("Paris", "Paris is", "The city of Paris is in Italy. ", options),
            "Suppose the city of Paris is in Italy. Then, Paris is");
}

TEST(DerivedStrings, UnmediatedContextAndAttributeNoEntity) {
  MediationSample sample;
  sample.id = "0";
  sample.entity = "Danielle Darrieux";
  sample.context = "The mother tongue of Danielle Darrieux is English";
  sample.attribute = "is English";
  sample.target_mediated = "English";
  sample.target_unmediated = "French";
  EXPECT_EQ(unmediated_context(sample), "The mother tongue of Danielle Darrieux is French");
  EXPECT_EQ(unmediated_attribute(sample), "is French");
  std::vector<MediationSample> samples = {sample};
  use_attribute_as_context(samples);
  EXPECT_EQ(samples[0].context, "is English");
  sample.target_unmediated.reset();
  EXPECT_THROW(unmediated_context(sample), Error);
}

}  // namespace
}  // namespace remedi::data
