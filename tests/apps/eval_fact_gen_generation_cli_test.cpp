// `remedi eval-fact-gen -b generation` and `-b essence` end to end on the default model with the
// identity editor (no training): the references files, per-prompt generations before and after, fluency,
// consistency and essence recomputed from them with the metric functions, and the baselines' prompts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "evaluate/fact_gen_checks.h"
#include "test_support.h"

namespace remedi {
namespace {

using test::read_json;

TEST(EvalFactGenGenerationCli, FluencyAndConsistencyFollowFromTheWrittenTexts) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_gen_generation");
  const auto r =
      test::run_remedi({"eval-fact-gen", "-n", "gen", "--results-dir", results, "-t", "identity", "-l", "3",
                        "-b", "generation", "--rows", "train[5000:5002]", "--max-length", "24", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = read_json(results + "/gen/identity/3/generation.json");
  const auto metrics = read_json(results + "/gen/identity/3/generation_metrics.json");
  const std::string refs_file = results + "/gen/" + metrics["references_file"].get<std::string>();
  const auto refs = read_json(refs_file);
  EXPECT_EQ(metrics["samples"], 2);
  test::expect_generation_metrics(records, metrics, refs, 2);
  // Rows 5000-5001: the rewrite prompt and the paraphrase prompt of each case (EasyEdit layout).
  EXPECT_EQ(records[0]["prompt"], "Joachim Barrande was employed in");

  // A second run with the same key reuses the reference texts (marked here) instead of sampling.
  auto marked = refs;
  const std::string first = marked["subjects"].begin().key();
  marked["subjects"][first]["text"] = "zebra zebra";
  test::write_file(refs_file, marked.dump());
  const auto again =
      test::run_remedi({"eval-fact-gen", "-n", "gen", "--results-dir", results, "-t", "identity", "-l", "3",
                        "-b", "generation", "--rows", "train[5000:5002]", "--max-length", "24", "-q"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_json(refs_file)["subjects"][first]["text"], "zebra zebra");

  // Prefix baseline: generated from context + prompt, scored without the prepended context.
  const auto p =
      test::run_remedi({"eval", "fact-gen", "-n", "gen", "--results-dir", results, "--baseline", "prefix",
                        "-b", "generation", "--rows", "train[5000:5001]", "--max-length", "40", "-q"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto prefix = read_json(results + "/gen/prefix/generation.json");
  ASSERT_FALSE(prefix.empty());
  for (const auto& record : prefix) {
    const std::string prompt = record["prompt"];  // "<context>. <original prompt>"
    const std::string context = record["context"];
    ASSERT_TRUE(prompt.starts_with(context + ". ")) << prompt;
    const std::string original = prompt.substr(context.size() + 2);
    EXPECT_TRUE(record["before_generations"][0].get<std::string>().starts_with(original));
  }
  const auto bad = test::run_remedi({"eval-fact-gen", "-n", "gen", "--results-dir", results, "-t", "identity",
                                     "-l", "3", "-b", "generation", "--max-length", "1", "-q"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--max-length"), std::string::npos) << bad.err;
  std::filesystem::remove_all(results);
}

// METHOD §8.5: "<entity> is" after a Wikipedia prefix, continued by the unedited LM (the references) and the
// edited LM; essence is the TF-IDF cosine of the two (vectorizer fitted on the references).
TEST(EvalFactGenGenerationCli, EssenceFollowsFromTheWrittenTexts) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_gen_essence");
  const std::vector<std::string> common = {"-n",      "ess",    "--results-dir",    results,        "-b",
                                           "essence", "--rows", "train[5000:5003]", "--max-length", "48",
                                           "-q"};
  std::vector<std::string> args = {"eval", "fact-gen", "-t", "identity", "-l", "3"};
  args.insert(args.end(), common.begin(), common.end());
  const auto r = test::run_remedi(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = read_json(results + "/ess/identity/3/essence.json");
  const auto metrics = read_json(results + "/ess/identity/3/essence_metrics.json");
  const auto refs = read_json(results + "/ess/" + metrics["references_file"].get<std::string>());
  ASSERT_EQ(records.size(), 3U);
  const auto references = refs["references"].get<std::vector<std::string>>();
  test::expect_essence_metrics(records, metrics, references);

  // Prefix baseline: the context sits between the Wikipedia prefix and "<entity> is" and is cut from
  // the text; the same references (same key) are reused.
  args = {"eval", "fact-gen", "--baseline", "prefix"};
  args.insert(args.end(), common.begin(), common.end());
  const auto p = test::run_remedi(args);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto prefix = read_json(results + "/ess/prefix/essence.json");
  ASSERT_EQ(prefix.size(), 3U);
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const std::string prompt = prefix[i]["prompt"];  // the Wikipedia line, the context, "<entity> is"
    EXPECT_TRUE(prompt.starts_with("The following is an excerpt from a Wikipedia article:\n\n" +
                                   prefix[i]["context"].get<std::string>()))
        << prompt;
    EXPECT_TRUE(prompt.ends_with(". " + prefix[i]["entity"].get<std::string>() + " is")) << prompt;
    EXPECT_TRUE(prefix[i]["after_generations"][0].get<std::string>().starts_with(
        prefix[i]["entity"].get<std::string>() + " is"));
    EXPECT_EQ(prefix[i]["before_generations"][0], references[i]);
  }
  EXPECT_EQ(read_json(results + "/ess/prefix/essence_metrics.json")["references_file"],
            metrics["references_file"]);

  // Replace baseline: "<other subject> is" scored against the original entity's reference.
  args = {"eval", "fact-gen", "--baseline", "replace"};
  args.insert(args.end(), common.begin(), common.end());
  const auto q = test::run_remedi(args);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto replaced = read_json(results + "/ess/replace/essence.json");
  ASSERT_FALSE(replaced.empty());
  for (const auto& record : replaced) {
    const std::string name = record["source"]["replacement_entity"];
    EXPECT_EQ(record["entity"], name);
    EXPECT_TRUE(record["after_generations"][0].get<std::string>().starts_with(name + " is"));
    const auto found = std::find_if(records.begin(), records.end(),
                                    [&](const auto& original) { return original["id"] == record["id"]; });
    ASSERT_NE(found, records.end());
    EXPECT_EQ(record["before_generations"][0], (*found)["before_generations"][0]);
  }
  std::filesystem::remove_all(results);
}

// METHOD §8.15: with paraphrase and generation over several layers, the run writes and prints the layer
// rule's choice (the rule itself: tests/evaluate/fact_gen_test.cpp).
TEST(EvalFactGenGenerationCli, SelectsTheLayerByTheHarmonicMean) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_gen_selection");
  const auto r = test::run_remedi({"eval", "fact-gen", "-n", "sweep", "--results-dir", results, "-t",
                                   "identity", "-l", "2", "5", "-b", "paraphrase", "generation", "--rows",
                                   "train[5000:5002]", "--max-length", "20", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto selection = read_json(results + "/sweep/identity/layer_selection.json");
  EXPECT_EQ(nlohmann::json::parse(r.out)["layer_selection"], selection);
  // The file's scores are the rule's (checked on the metrics in tests/evaluate); the best is the highest.
  const double two = selection["scores"]["2"];
  const double five = selection["scores"]["5"];
  EXPECT_EQ(selection["best_layer"], five > two ? 5 : 2);
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
