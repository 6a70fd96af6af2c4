#include "data/mcrae.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "data/articles.h"
#include "data/text.h"
#include "spacy_fixtures.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi::data {
namespace {

TEST(McRae, FeatureNormalisationFluencyAndSplits) {
  EXPECT_EQ(normalize_mcrae_feature("beh_-_flies"), "flies");
  EXPECT_EQ(normalize_mcrae_feature("inbeh_-_hunts_at_night"), "hunts at night");
  EXPECT_EQ(normalize_mcrae_feature("a_musical_instrument"), "a musical instrument");
  EXPECT_EQ(mcrae_fluent_feature("used for cutting"), "is used for cutting");
  EXPECT_EQ(mcrae_fluent_feature("different colours"), "has different colours");
  EXPECT_EQ(mcrae_fluent_feature("lays eggs"), "lays eggs");
  const auto split = [](const char* feature) {
    const McRaeFeatureSplit parts = split_mcrae_feature(feature);
    return std::make_pair(parts.prompt, parts.target);
  };
  // METHOD §3.4 and §12 vectors.
  EXPECT_EQ(split("a musical instrument"),
            std::make_pair(std::string("is a"), std::string("musical instrument")));
  EXPECT_EQ(split("used for cutting"), std::make_pair(std::string("is used for"), std::string("cutting")));
  EXPECT_EQ(split("lays eggs"), std::make_pair(std::string(""), std::string("lays eggs")));
  EXPECT_EQ(split("hunted by people"), std::make_pair(std::string("is"), std::string("hunted by people")));
  EXPECT_EQ(split("has fur"), std::make_pair(std::string("has"), std::string("fur")));
  EXPECT_EQ(split("different colours"), std::make_pair(std::string("has different"), std::string("colours")));
  EXPECT_EQ(split("has a beak"),
            std::make_pair(std::string("has a"), std::string("beak")));  // "has an"/"has a" before "has"
  EXPECT_EQ(strip_mcrae_parenthetical("bat (animal)"), "bat");
}

TEST(Articles, SpecVectorsWithSpellingRules) {
  const Articles rules = Articles::spelling_rules();
  EXPECT_EQ(rules.article("mink"), "a");
  EXPECT_EQ(rules.article("airplane"), "an");
  EXPECT_EQ(rules.article("boy"), "a");
  EXPECT_EQ(rules.article("foobarbaz"), "a");
  EXPECT_EQ(rules.article("open"), "an");
  EXPECT_EQ(rules.article("hour"), "an");
  EXPECT_EQ(rules.article("unicorn"), "a");
  EXPECT_EQ(rules.article("umbrella"), "an");
  EXPECT_EQ(rules.article("european"), "a");
  EXPECT_EQ(rules.article("sleeping bag"), "a");  // not a dictionary word
}

TEST(Articles, CmudictFileAnswersAsTheOriginal) {
  const std::string dir = test::temp_dir("cmudict");
  // Both layouts: cmudict.dict ("word(2)") and NLTK's ("WORD 1 ...").
  test::write_file(dir + "/dict",
                   ";;; comment\nmink M IH1 NG K\nairplane EH1 R P L EY2 N\nboy B OY1\n"
                   "open OW1 P AH0 N\nherb ER1 B\nherb(2) HH ER1 B\nUNION 1 Y UW1 N Y AH0 N\n");
  const Articles dictionary = Articles::from_cmudict(dir + "/dict");
  EXPECT_EQ(dictionary.article("mink"), "a");
  EXPECT_EQ(dictionary.article("airplane"), "an");
  EXPECT_EQ(dictionary.article("boy"), "a");
  EXPECT_EQ(dictionary.article("foobarbaz"), "a");
  EXPECT_EQ(dictionary.article("open"), "an");
  EXPECT_EQ(dictionary.article("herb"), "an");  // the first pronunciation wins
  EXPECT_EQ(dictionary.article("union"), "a");
  test::write_file(dir + "/bad", "word\n");
  EXPECT_THROW(Articles::from_cmudict(dir + "/bad"), Error);
  EXPECT_THROW(Articles::from_cmudict(dir + "/missing"), Error);
  std::filesystem::remove_all(dir);
}

TEST(Articles, SpellingRulesAgreeWithCmudictOnEverydayNouns) {
  // Every distinct WinoVenti word with the CMU dictionary's article (tests/reference/articles_cmudict.py).
  std::istringstream lines(test::read_file(test::fixture("data/articles_winoventi.tsv")));
  const Articles rules = Articles::spelling_rules();
  std::string line;
  std::size_t total = 0;
  std::size_t agree = 0;
  while (std::getline(lines, line)) {
    const std::vector<std::string> fields = split_on(line, "\t");
    ASSERT_EQ(fields.size(), 2U);
    ++total;
    if (rules.article(fields[0]) == fields[1]) {
      ++agree;
    } else {
      std::printf("[ differs  ] %s: cmudict %s, rules %s\n", fields[0].c_str(), fields[1].c_str(),
                  rules.article(fields[0]).c_str());
    }
  }
  std::printf("[ measured ] articles: spelling rules agree with cmudict on %zu of %zu WinoVenti words\n",
              agree, total);
  EXPECT_EQ(total, 978U);
  EXPECT_GE(agree, 970U);
}

// Every "a"/"an" that a person wrote before a lower-case word in the real biographies shipped in
// data/biasinbios-samples (LabHC Bias in Bios rows, SOURCE.txt there), checked against the spelling
// rules. Returns the number of pairs and, as "file: article word", those where the rules differ.
std::pair<std::size_t, std::vector<std::string>> articles_in_bios(const Articles& rules) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(test::data_path("biasinbios-samples"))) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::size_t pairs = 0;
  std::vector<std::string> differ;
  const auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  for (const auto& file : files) {
    const std::string text = test::read_file(file.string());
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
      // "a word" / "an word": the article a whole word, one space, then a whole lower-case word.
      if (pos > 0 && is_letter(text[pos - 1])) continue;
      std::size_t article_end = pos;
      while (article_end < text.size() && is_letter(text[article_end])) ++article_end;
      const std::string article = text.substr(pos, article_end - pos);
      if ((article != "a" && article != "an") || article_end + 1 >= text.size() || text[article_end] != ' ')
        continue;
      std::size_t word_end = article_end + 1;
      while (word_end < text.size() && text[word_end] >= 'a' && text[word_end] <= 'z') ++word_end;
      if (word_end == article_end + 1 || (word_end < text.size() && is_letter(text[word_end]))) continue;
      const std::string word = text.substr(article_end + 1, word_end - article_end - 1);
      ++pairs;
      if (rules.article(word) != article)
        differ.push_back(file.filename().string() + ": " + article + " " + word);
    }
  }
  return {pairs, differ};
}

TEST(Articles, SpellingRulesAgreeWithTheArticlesOfRealBios) {
  const auto [pairs, differ] = articles_in_bios(Articles::spelling_rules());
  std::printf("[ measured ] articles: spelling rules agree with the writers on %zu of %zu pairs\n",
              pairs - differ.size(), pairs);
  EXPECT_EQ(pairs, 1683U);
  // Each of these is the writer's slip (checked by hand), not the rules': the rules say "an alum",
  // "an instrumental", "an adeptness", "a coming", "an ensemble", "a complimentary".
  const std::vector<std::string> expected = {"accountant_complete.csv: a alum",
                                             "accountant_complete.csv: a instrumental",
                                             "accountant_complete.csv: a adeptness",
                                             "comedian.csv: an coming",
                                             "composer.csv: a ensemble",
                                             "photographer.csv: an complimentary"};
  EXPECT_EQ(differ, expected);
}

TEST(McRae, SyntheticNormsMatchThePythonReference) {
  // tests/fixtures/data/mcrae_synthetic.tsv is SYNTHETIC (the real norms cannot be redistributed);
  // the expected samples come from tests/reference/mcrae_reference.py (CPython's random, cmudict).
  const std::vector<MediationSample> samples =
      load_mcrae(test::fixture("data/mcrae_synthetic.tsv"), Articles::spelling_rules());
  const std::vector<Json> expected =
      test::read_jsonl_fixture(test::fixture("data/mcrae_synthetic_expected.jsonl"));
  ASSERT_EQ(samples.size(), 123U);
  ASSERT_EQ(expected.size(), 30U);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(sample_to_json(samples[i]), expected[i]) << "sample " << i;
  }
  EXPECT_EQ(samples[0].id, "cherry/made_of_metal/found_in_kitchens");
}

TEST(McRae, ExcludedFeaturesAndBadRows) {
  const std::vector<MediationSample> samples =
      load_mcrae(test::fixture("data/mcrae_synthetic.tsv"), Articles::spelling_rules());
  for (const MediationSample& sample : samples) {
    for (const char* excluded : {"eg_-", "bought/sold", "killed", "king_of"}) {
      EXPECT_EQ(sample.id.find(excluded), std::string::npos) << sample.id;
    }
  }
  const DelimitedTable bad =
      parse_delimited("Concept\tFeature\tProd_Freq\ndog\thas_fur\tmany\n", '\t', "norms.txt");
  try {
    convert_mcrae(bad, Articles::spelling_rules());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "norms.txt: line 2: Prod_Freq: expected a whole number, got \"many\"");
  }
  const DelimitedTable missing = parse_delimited("Concept\tFeat\n", '\t', "norms.txt");
  EXPECT_THROW(convert_mcrae(missing, Articles::spelling_rules()), Error);
  // Two concepts sharing both features leave no concept to draw: an error, not a crash.
  const DelimitedTable tiny =
      parse_delimited("Concept\tFeature\tProd_Freq\ndog\thas_fur\t20\ndog\tbarks\t20\n", '\t', "tiny.txt");
  EXPECT_THROW(convert_mcrae(tiny, Articles::spelling_rules()), Error);
}

}  // namespace
}  // namespace remedi::data
