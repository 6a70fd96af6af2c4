// `remedi dataset convert|show` end to end.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/sample.h"
#include "test_support.h"

namespace remedi {
namespace {

TEST(DatasetCli, ConvertWritesJsonLinesOfTheSelectedRows) {
  const std::string dir = test::temp_dir("dataset-cli");
  const std::string out = dir + "/cf.jsonl";
  const test::CommandResult result =
      test::run_remedi({"dataset", "convert", "-d", "counterfact", "-f", test::data_path("counterfact"),
                        "--split", "train[5000:5010]", "-o", out});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.err.starts_with("wrote 10 samples to " + out + " ")) << result.err;
  const std::vector<data::MediationSample> samples = data::read_samples(out);
  ASSERT_EQ(samples.size(), 10U);
  EXPECT_EQ(samples[0].id, "5000");
  EXPECT_EQ(samples[9].id, "5009");

  // The converted file reads back as data set "samples".
  const test::CommandResult shown = test::run_remedi(
      {"dataset", "show", "-d", "samples", "-f", out, "--limit", "2", "--split", "train[1:]"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(shown.out.starts_with("{\"id\":\"5001\",\"entity\":")) << shown.out;
  EXPECT_EQ(std::count(shown.out.begin(), shown.out.end(), '\n'), 2);
  EXPECT_EQ(shown.out.find("\"source\""), std::string::npos);
  EXPECT_EQ(shown.err, "9 samples, 2 shown\n");
  std::filesystem::remove_all(dir);
}

TEST(DatasetCli, ReformatDatasetIsConvertUnderTheOriginalName) {
  const std::string dir = test::temp_dir("reformat-cli");
  const std::string out = dir + "/bios.jsonl";
  const test::CommandResult result = test::run_remedi(
      {"reformat-dataset", "-d", "biosbias", "-f", test::data_path("biasinbios-samples"), "-o", out});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<data::MediationSample> samples = data::read_samples(out);
  ASSERT_EQ(samples.size(), 1234U);  // docs/DATA.md: 1,280 rows, 1,234 samples
  EXPECT_EQ(samples[0].prompt, samples[0].entity + " has the occupation of");
  // Without -o: <dataset>.jsonl in the working directory (the test runs from the build folder).
  const test::CommandResult missing =
      test::run_remedi({"reformat-dataset", "-d", "biosbias", "-f", dir + "/nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find(dir + "/nope"), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists("biosbias.jsonl"));
  std::filesystem::remove_all(dir);
}

TEST(DatasetCli, DefaultFilesComeFromRemediData) {
  // No -f: the default input under $REMEDI_DATA (the test binary's environment passes through).
  setenv("REMEDI_DATA", test::data_path("").c_str(), 1);
  const test::CommandResult result = test::run_remedi({"dataset", "show", "-d", "winoventi", "--limit", "1"});
  unsetenv("REMEDI_DATA");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.out.starts_with("{\"id\":\"syrup_edible_malodorous\"")) << result.out;
  EXPECT_EQ(result.err, "2632 samples, 1 shown\n");
}

TEST(DatasetCli, BadInputExitsTwoWithOneLineAndNoOutputFile) {
  const std::string dir = test::temp_dir("dataset-cli-bad");
  test::write_file(dir + "/bad.json", "[{\"case_id\": 0, \"requested_rewrite\": {}}]");
  const std::string out = dir + "/out.jsonl";
  test::CommandResult result =
      test::run_remedi({"dataset", "convert", "-d", "counterfact", "-f", dir + "/bad.json", "-o", out});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "remedi: error: " + dir + "/bad.json: [0].requested_rewrite.subject: missing\n");
  EXPECT_FALSE(std::filesystem::exists(out));

  // An empty row selector is refused, not read as "every row".
  result = test::run_remedi({"dataset", "show", "-d", "counterfact", "--split", ""});
  test::expect_one_line_error(result, "<argument>: --split: is empty");
  result =
      test::run_remedi({"dataset", "show", "-d", "counterfact", "--split", "train[:-0]", "--limit", "0"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");  // Python's [:-0] is empty

  result = test::run_remedi({"dataset", "show", "-d", "nosuch", "-f", dir + "/bad.json"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown data set \"nosuch\""), std::string::npos) << result.err;

  result = test::run_remedi({"dataset", "show", "-d", "samples", "-f", dir + "/missing.jsonl"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err, "remedi: error: " + dir + "/missing.jsonl: does not exist\n");

  result = test::run_remedi({"dataset", "show", "-d", "samples"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("has no default file"), std::string::npos) << result.err;

  result = test::run_remedi({"dataset", "show", "-d", "winoventi", "-f",
                             test::data_path("winoventi/winoventi_bert_large_final.tsv"), "--split", "test"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown split \"test\""), std::string::npos) << result.err;

  result = test::run_remedi({"dataset", "convert", "-d", "counterfact"});  // -o missing
  EXPECT_EQ(result.exit_code, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi
