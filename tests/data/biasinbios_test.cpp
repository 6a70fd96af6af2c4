#include "data/biasinbios.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "spacy_fixtures.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi::data {
namespace {

Json entry(const std::vector<std::string>& name, const std::string& raw, const std::string& title = "nurse") {
  Json value;
  value["name"] = name;
  value["raw"] = raw;
  value["title"] = title;
  return value;
}

std::optional<MediationSample> convert(const Json& value, const BiosOptions& options = {}) {
  MediationSample sample;
  if (!convert_bios_entry(value, "BIOS.pkl", "entry 0", options, sample)) return std::nullopt;
  return sample;
}

TEST(BiasInBios, ConvertsAnEntryAsTheSpecSays) {
  // Sentence 1 names the title; sentence 2 (the abridged bio) has "Dr. Mary Smith".
  const auto sample =
      convert(entry({"Mary", "Ann", "Smith"},
                    "Mary Ann Smith is a nurse. Since 2001 Dr. Mary Smith has cared for patients "
                    "in three hospitals in Ohio. She lives in Ohio.",
                    "registered_nurse"));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->id, "Mary_Ann_Smith");
  EXPECT_EQ(sample->entity, "Mary");
  EXPECT_EQ(sample->context, "Since 2001 Mary has cared for patients in three hospitals in Ohio.");
  EXPECT_EQ(sample->attribute, "has cared for patients in three hospitals in Ohio");
  EXPECT_EQ(sample->prompt, "Mary has the occupation of");
  EXPECT_EQ(sample->target_mediated, "registered nurse");
  EXPECT_FALSE(sample->target_unmediated);
  EXPECT_EQ(sample->source["title"], "registered_nurse");
}

TEST(BiasInBios, NameNormalisationOrderAndHonorifics) {
  const std::string intro = "John Q Public is a surgeon. ";
  // "PROF. John Q Public" (upper-case honorific + full name) and "Mr. Public" (last name) both become "John".
  auto sample = convert(entry({"John", "Q", "Public"},
                              intro + "PROF. John Q Public operates on human hearts every day of the week."));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->context, "John operates on human hearts every day of the week.");
  sample = convert(
      entry({"John", "Q", "Public"}, intro + "Patients say Mr. Public is the best surgeon in all of town."));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->context, "Patients say John is the best surgeon in all of town.");
  EXPECT_EQ(sample->attribute, "is the best surgeon in all of town");
}

TEST(BiasInBios, CountingRulesAndSkips) {
  const std::string intro = "Ann Lee is a poet. ";
  // No mention: "About <first>: " is prefixed.
  auto sample =
      convert(entry({"Ann", "", "Lee"}, intro + "She has published nine books of poems about the sea."));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->context, "About Ann: She has published nine books of poems about the sea.");
  EXPECT_EQ(sample->attribute, "She has published nine books of poems about the sea");
  // Two mentions (substring counting: "Annual" contains "Ann") -> skipped (METHOD Q28).
  EXPECT_FALSE(
      convert(entry({"Ann", "", "Lee"}, intro + "Ann wrote the Annual Review of poems for ten years.")));
  // Fewer than 10 words after the prefix -> skipped.
  EXPECT_FALSE(convert(entry({"Ann", "", "Lee"}, intro + "She writes short poems.")));
  // Excluded first name.
  EXPECT_FALSE(convert(entry({"Non-Residential", "", "X"},
                             intro + "Non-Residential has a long enough bio with many many words.")));
  // Only one sentence of at least 3 words: it is used; stars and bullets are trimmed.
  sample = convert(
      entry({"Ann", "", "Lee"}, "\u2022 * Ann has published nine books of poems about the sea and sky. Ok."));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->context, "Ann has published nine books of poems about the sea and sky.");
}

TEST(BiasInBios, EmptyLastNameFollowsPythonReplaceSemantics) {
  // name[-1] == "": the original replaces "" (and "prof " etc.), which inserts the first name between
  // every character, so the name count exceeds one and the entry is skipped.
  EXPECT_FALSE(convert(
      entry({"Cher", "", ""}, "Cher is a singer. Cher has sold more than one hundred million records.")));
}

TEST(BiasInBios, BadEntriesNameTheField) {
  Json bad = entry({"A", "", "B"}, "x");
  bad.erase("title");
  MediationSample sample;
  try {
    convert_bios_entry(bad, "BIOS.pkl", "entry 3", {}, sample);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "BIOS.pkl: entry 3.title: missing");
  }
  bad = entry({"A", "", "B"}, "x");
  bad["name"] = "A B";
  EXPECT_THROW(convert_bios_entry(bad, "BIOS.pkl", "entry 3", {}, sample), Error);
  bad["name"] = Json::array({1, 2});
  EXPECT_THROW(convert_bios_entry(bad, "BIOS.pkl", "entry 3", {}, sample), Error);
  EXPECT_THROW(convert_bios_entry(Json::array(), "BIOS.pkl", "entry 3", {}, sample), Error);
}

TEST(BiasInBios, LoadsThePickleLayoutWithLimit) {
  const std::vector<MediationSample> samples = load_biosbias(test::fixture("data/bios_protocol4.pkl"));
  // Mary's abridged bio, "About Mary: She writes code in Rust.", has 7 words: skipped.
  ASSERT_EQ(samples.size(), 1U);
  EXPECT_EQ(samples[0].id, "Jos\u00e9_P\u00e9rez");
  EXPECT_EQ(samples[0].context,
            "About Jos\u00e9: He has cared for patients in Madrid and Lisbon for twenty years.");
  EXPECT_EQ(samples[0].source["URI"], "http://example.com/2");
  BiosOptions first_only;
  first_only.limit = 1;
  EXPECT_EQ(load_biosbias(test::fixture("data/bios_protocol2.pkl"), first_only).size(), 0U);
}

TEST(BiasInBios, LabHcRowsMatchTheSpacyReference) {
  // The reference converts the same rebuilt entries with spaCy's sentences; fed those sentences,
  // the conversion must agree on every row.
  std::map<std::string, Json> reference;  // raw text -> record
  const std::vector<Json> records = test::read_jsonl_fixture(test::fixture("data/biasinbios_spacy.jsonl"));
  std::vector<std::string> files;
  for (const auto& file : std::filesystem::directory_iterator(test::data_path("biasinbios-samples"))) {
    if (file.path().extension() == ".csv") files.push_back(file.path().string());
  }
  std::sort(files.begin(), files.end());
  std::size_t number = 0;
  std::size_t index = 0;
  std::size_t compared = 0;
  for (const std::string& file : files) {
    const DelimitedTable table = read_delimited(file, ',');
    for (std::size_t row = 0; row < table.rows.size(); ++row, ++number) {
      if (file.ends_with("accountant_complete.csv")) continue;
      const Json& record = records.at(index++);
      const Json rebuilt = bios_entry_from_labhc_row(table, row, number, 123456);
      const std::string raw = rebuilt["raw"];
      BiosOptions options;
      options.sentence_splitter = [&](std::string_view text) {
        EXPECT_EQ(text, raw);
        return test::spans_to_sentences(raw, record["sentences"]);
      };
      const auto sample = convert(rebuilt, options);
      ++compared;
      if (record["sample"].is_null()) {
        EXPECT_FALSE(sample) << file << " row " << row;
        continue;
      }
      ASSERT_TRUE(sample) << file << " row " << row;
      const Json& expected = record["sample"];
      EXPECT_EQ(sample->id, expected["id"]);
      EXPECT_EQ(sample->entity, expected["entity"]);
      EXPECT_EQ(sample->context, expected["context"]) << file << " row " << row;
      EXPECT_EQ(sample->attribute, expected["attribute"]);
      EXPECT_EQ(sample->prompt, expected["prompt"]);
      EXPECT_EQ(sample->target_mediated, expected["target_mediated"]);
    }
  }
  EXPECT_EQ(compared, 280U);
}

TEST(BiasInBios, LabHcFolderLoadsWithSyntheticNames) {
  const std::vector<MediationSample> samples = load_biosbias(test::data_path("biasinbios-samples"));
  EXPECT_GT(samples.size(), 1200U);
  EXPECT_EQ(samples[0].id, "Svetlana_Rutherford");
  EXPECT_EQ(samples[0].source["raw"].get<std::string>().substr(0, 44),
            "Svetlana Rutherford is an accountant. She wa");
  EXPECT_EQ(samples[0].source["gender"], "F");
  EXPECT_EQ(samples[0].source["start_pos"], 38);
  EXPECT_TRUE(samples[0].source["synthetic_name"]);
  const DelimitedTable bad =
      parse_delimited("hard_text,profession,gender\nsome text,,Male\n", ',', "bad.csv");
  EXPECT_THROW(bios_entry_from_labhc_row(bad, 0, 0, 1), Error);
}

}  // namespace
}  // namespace remedi::data
