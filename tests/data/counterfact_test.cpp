#include "data/counterfact.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "data/sentences.h"
#include "data/text.h"
#include "spacy_fixtures.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi::data {
namespace {

// All 21,919 cases from the shared EasyEdit split files, converted once for the tests below.
const std::vector<MediationSample>& all_counterfact() {
  static const std::vector<MediationSample> samples = load_counterfact(test::data_path("counterfact"));
  return samples;
}

Json rome_record(const std::string& subject, const std::string& prompt_template,
                 const std::string& target_new, const std::string& paraphrase) {
  Json record;
  record["case_id"] = 7;
  record["requested_rewrite"] = {{"prompt", prompt_template},
                                 {"relation_id", "P103"},
                                 {"target_new", {{"str", target_new}, {"id", "Q1860"}}},
                                 {"target_true", {{"str", "French"}, {"id", "Q150"}}},
                                 {"subject", subject}};
  record["paraphrase_prompts"] = Json::array({paraphrase, "second paraphrase"});
  record["generation_prompts"] = Json::array({"g1"});
  return record;
}

TEST(CounterFact, SpecExampleFromRomeLayout) {
  const Json record =
      rome_record("Danielle Darrieux", "The mother tongue of {} is", "English",
                  "Shayna does this and Yossel goes still and dies. Danielle Darrieux, a native");
  const MediationSample sample = convert_counterfact_record(record, "counterfact.json", "[0]");
  EXPECT_EQ(sample.id, "7");
  EXPECT_EQ(sample.entity, "Danielle Darrieux");
  EXPECT_EQ(sample.context, "The mother tongue of Danielle Darrieux is English");
  EXPECT_EQ(sample.attribute, "is English");
  EXPECT_EQ(sample.prompt, "Danielle Darrieux, a native");
  EXPECT_EQ(sample.target_mediated, "English");
  EXPECT_EQ(sample.target_unmediated, "French");
  EXPECT_EQ(sample.source, record);
}

TEST(CounterFact, LoadsARomeLayoutFile) {
  const std::string dir = test::temp_dir("counterfact-rome");
  Json records = Json::array();
  records.push_back(
      rome_record("Danielle Darrieux", "The mother tongue of {} is", "English", "Danielle Darrieux, a"));
  records.push_back(rome_record("Toko Yasuda", "{}, the", "piano", "Toko Yasuda is incredible at"));
  test::write_file(dir + "/counterfact.json", records.dump(2));
  const std::vector<MediationSample> samples = load_counterfact(dir + "/counterfact.json");
  ASSERT_EQ(samples.size(), 2U);
  EXPECT_EQ(samples[1].context, "Toko Yasuda, the piano");
  EXPECT_EQ(samples[1].attribute, "the piano");
  EXPECT_EQ(samples[1].source["paraphrase_prompts"].size(), 2U);
  std::filesystem::remove_all(dir);
}

TEST(CounterFact, AttributeIsAfterLastEntityMentionTrimmed) {
  const MediationSample sample = convert_counterfact_record(
      rome_record("Kharkiv", "{}, who holds a citizenship from", "Sweden", "Kharkiv is"), "f", "[0]");
  EXPECT_EQ(sample.attribute, "who holds a citizenship from Sweden");
  const MediationSample twice = convert_counterfact_record(
      rome_record("Leo", "Leo's friend {} - is located in", "Rome", "Leo is"), "f", "[0]");
  EXPECT_EQ(twice.attribute, "is located in Rome");
}

TEST(CounterFact, SharedDataCaseZeroIsTheSpecExample) {
  const std::vector<MediationSample>& samples = all_counterfact();
  ASSERT_EQ(samples.size(), 21919U);
  for (std::size_t i = 0; i < samples.size(); ++i) ASSERT_EQ(samples[i].id, std::to_string(i));  // ROME order
  const MediationSample& first = samples[0];
  EXPECT_EQ(first.entity, "Danielle Darrieux");
  EXPECT_EQ(first.context, "The mother tongue of Danielle Darrieux is English");
  EXPECT_EQ(first.attribute, "is English");
  EXPECT_EQ(first.prompt, "Where Danielle Darrieux is from, people speak the language of");
  EXPECT_EQ(first.target_unmediated, "French");
  EXPECT_EQ(first.source["requested_rewrite"]["prompt"], "The mother tongue of {} is");
  EXPECT_EQ(first.source["neighborhood_prompts"][0], "Michel Rocard is a native speaker of");
  // Case 3: junk sentence before the prompt; case 8: a question kept with its answer.
  EXPECT_EQ(samples[3].prompt, "Autonomous University of Madrid is located in");
  EXPECT_EQ(samples[8].context, "What is the twin city of Wellington? It is Sheffield");
  EXPECT_EQ(samples[8].attribute, "? It is Sheffield");
}

TEST(CounterFact, CleaningBranches) {
  // Step 1: last line only; step 2: Category title; step 3: artifacts.
  EXPECT_EQ(clean_paraphrase_prompt("Tina Turner", "(Wirral)\n Tina Turner, a native"),
            "Tina Turner, a native");
  EXPECT_EQ(clean_paraphrase_prompt("Vevo", "Category:Rivers of the Vevo region Vevo is from"),
            "Vevo is from");
  EXPECT_EQ(
      clean_paraphrase_prompt("Edward Cullen", "Pop Smoke, rapper (b. Edward Cullen, whose position is"),
      "Edward Cullen, whose position is");
  EXPECT_EQ(strip_paraphrase_junk("X", "a (tr. b (min. X is"), "X is");
  // Step 5: a break inside the entity is undone ("Jr." ends the first sentence in ours too).
  EXPECT_EQ(clean_paraphrase_sentences("Smith Jr. Co", "Smith Jr. Co is in",
                                       {"Old news.", "Smith Jr.", "Co is in"}),
            "Smith Jr. Co is in");
  EXPECT_EQ(clean_paraphrase_sentences("A Jr.", "It. A Jr. B", {"It.", "A Jr.", "B"}), "A Jr. B");
  EXPECT_EQ(clean_paraphrase_sentences("St. Louis", "I love St. Louis a lot", {"I love St.", "Louis a lot"}),
            "I love St. Louis a lot");
  EXPECT_EQ(clean_paraphrase_sentences("Bo", "", {"Ann Bo", "x", "Cy Bo", "z"}),
            std::nullopt);  // two breaks qualify
  // Step 6: two sentences, entity only in the second; three or more with and without "?".
  EXPECT_EQ(clean_paraphrase_prompt("Doriva", "Those will last. Doriva plays"), "Doriva plays");
  EXPECT_EQ(clean_paraphrase_prompt("Wellington", "Fine. Where is Wellington? It is in"),
            "Where is Wellington? It is in");
  EXPECT_EQ(clean_paraphrase_prompt("Nokia X", "A. Its post office is closed. Nokia X, developed by"),
            "Nokia X, developed by");
  // Step 8: a period the segmenter kept; not applied when the entity has one.
  EXPECT_EQ(clean_paraphrase_prompt("Tim Tebow", "Camp (eds. Tim Tebow plays"), "Tim Tebow plays");
  EXPECT_EQ(clean_paraphrase_prompt("John D. Rockefeller", "John D. Rockefeller's office is in"),
            "John D. Rockefeller's office is in");
  // Step 9 and the assertion cases fall back to the step-3 string.
  EXPECT_EQ(clean_paraphrase_prompt("Zed", "Nothing here. Nor here"), "Nothing here. Nor here");
  EXPECT_EQ(clean_paraphrase_sentences("Zed", "No Zed", {"No"}), std::nullopt);
  EXPECT_EQ(clean_paraphrase_sentences("Zed", "", {}), std::nullopt);
}

TEST(CounterFact, CleaningLogicMatchesTheReferenceOnSpacySentences) {
  // Steps 5-9 fed with spaCy's own sentences must give exactly the reference's result.
  const std::vector<Json> records =
      test::read_jsonl_fixture(test::fixture("data/counterfact_clean_spacy.jsonl"));
  ASSERT_GT(records.size(), 3000U);
  const std::vector<MediationSample>& samples = all_counterfact();
  for (const Json& record : records) {
    const MediationSample& sample = samples.at(record["case_id"].get<std::size_t>());
    const std::string raw = sample.source["paraphrase_prompts"][0];
    const std::string step3 = strip_paraphrase_junk(sample.entity, raw);
    const std::optional<std::string> cleaned = clean_paraphrase_sentences(
        sample.entity, step3, test::spans_to_sentences(step3, record["sentences"]));
    if (record["cleaned"].is_null()) {
      EXPECT_EQ(cleaned, std::nullopt) << "case " << sample.id;
    } else {
      EXPECT_EQ(cleaned, record["cleaned"].get<std::string>()) << "case " << sample.id;
    }
  }
}

TEST(CounterFact, SegmenterAndCleaningAgreeWithSpacyOnAllCases) {
  // Cases missing from the fixture are those where spaCy finds one sentence and the cleaning only
  // trims; the reference prompt there is the trimmed paraphrase.
  std::map<std::size_t, Json> reference;
  for (Json& record : test::read_jsonl_fixture(test::fixture("data/counterfact_clean_spacy.jsonl"))) {
    const auto case_id = record["case_id"].get<std::size_t>();
    reference[case_id] = std::move(record);
  }
  std::size_t same_segmentation = 0;
  std::size_t same_prompt = 0;
  const std::vector<MediationSample>& samples = all_counterfact();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const MediationSample& sample = samples[i];
    const std::string raw = sample.source["paraphrase_prompts"][0];
    const std::string step3 = strip_paraphrase_junk(sample.entity, raw);
    const auto found = reference.find(i);
    std::vector<std::string> spacy{strip_whitespace(step3)};
    std::string expected_prompt = strip_whitespace(raw);
    if (found != reference.end()) {
      spacy.clear();
      for (const std::string& sentence : test::spans_to_sentences(step3, found->second["sentences"])) {
        if (!strip_whitespace(sentence).empty()) spacy.push_back(strip_whitespace(sentence));
      }
      const Json& cleaned = found->second["cleaned"];
      expected_prompt = cleaned.is_null() ? step3 : cleaned.get<std::string>();
    }
    if (split_sentences(step3) == spacy) ++same_segmentation;
    if (sample.prompt == expected_prompt) ++same_prompt;
  }
  std::printf(
      "[ measured ] CounterFact: %zu of %zu paraphrases segmented exactly as spaCy, %zu cleaned prompts "
      "identical\n",
      same_segmentation, samples.size(), same_prompt);
  EXPECT_GE(same_segmentation, 21000U);
  EXPECT_GE(same_prompt, 21500U);
}

TEST(CounterFact, EasyEditRecordRebuildsTheRomeLayout) {
  const Json easyedit =
      Json::parse(R"({"case_id": 3, "prompt": "Autonomous University of Madrid, which is located in",
      "target_new": "Sweden", "subject": "Autonomous University of Madrid", "ground_truth": "Spain",
      "rephrase_prompt": "and X. Autonomous University of Madrid is located in",
      "locality_prompt": "Biure, which is located in", "locality_ground_truth": "Spain"})");
  const Json rebuilt = rome_record_from_easyedit(easyedit, "split.json", "[0]");
  EXPECT_EQ(rebuilt["requested_rewrite"]["prompt"], "{}, which is located in");
  EXPECT_EQ(rebuilt["requested_rewrite"]["target_true"]["str"], "Spain");
  EXPECT_EQ(rebuilt["paraphrase_prompts"].size(), 1U);
  EXPECT_FALSE(rebuilt.contains("generation_prompts"));
  const MediationSample sample = convert_counterfact_record(rebuilt, "split.json", "[0]");
  EXPECT_EQ(sample.attribute, "which is located in Sweden");
}

TEST(CounterFact, BadInputNamesFileAndField) {
  const auto error_of = [](const Json& record) {
    try {
      convert_counterfact_record(record, "cf.json", "[4]");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Json record = rome_record("A", "{} is", "B", "A is");
  record["requested_rewrite"]["prompt"] = "no slot";
  EXPECT_EQ(error_of(record), "cf.json: [4].requested_rewrite.prompt: has no {} slot for the subject");
  record = rome_record("A", "{} is", "B", "A is");
  record["requested_rewrite"]["target_new"].erase("str");
  EXPECT_EQ(error_of(record), "cf.json: [4].requested_rewrite.target_new.str: missing");
  record = rome_record("A", "{} is", "B", "A is");
  record["requested_rewrite"]["target_new"]["str"] = "";
  EXPECT_EQ(error_of(record), "cf.json: [4].requested_rewrite.target_new.str: is empty");
  record = rome_record("A", "{} is", "B", "A is");
  record["requested_rewrite"]["subject"] = " ";
  EXPECT_EQ(error_of(record), "cf.json: [4].requested_rewrite.subject: is empty");
  record = rome_record("A", "{} is", "B", "A is");
  record["case_id"] = "seven";
  EXPECT_EQ(error_of(record), "cf.json: [4].case_id: expected an integer, got \"seven\"");
  record = rome_record("A", "{} is", "B", "A is");
  record["paraphrase_prompts"] = Json::array();
  EXPECT_EQ(error_of(record), "cf.json: [4].paraphrase_prompts: expected a non-empty array of strings");

  const Json no_subject = Json::parse(R"({"case_id": 1, "prompt": "B is", "subject": "A", "target_new": "x",
      "ground_truth": "y", "rephrase_prompt": "A"})");
  EXPECT_THROW(rome_record_from_easyedit(no_subject, "split.json", "[0]"), Error);

  const std::string dir = test::temp_dir("counterfact");
  test::write_file(dir + "/object.json", "{\"case_id\": 1}");
  test::write_file(dir + "/broken.json", "[{\"case_id\": 1,");
  EXPECT_THROW(load_counterfact(dir + "/object.json"), Error);
  EXPECT_THROW(load_counterfact(dir + "/broken.json"), Error);
  EXPECT_THROW(load_counterfact(dir), Error);  // a folder without the split files
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi::data
