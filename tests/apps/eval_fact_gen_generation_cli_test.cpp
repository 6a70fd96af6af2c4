// `remedi eval-fact-gen -b generation` end to end on the default model with the identity editor (no
// training): the references file, per-prompt generations before and after, fluency and consistency
// recomputed from them with the metric functions, and the prefix baseline's context cut.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "eval/fluency.h"
#include "eval/tfidf.h"
#include "test_support.h"

namespace remedi {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

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
  ASSERT_EQ(records.size(), metrics["prompts"].get<std::size_t>());
  // The TF-IDF vectorizer is fitted on the distinct reference texts.
  std::vector<std::string> corpus;
  for (const auto& [name, subject] : refs["subjects"].items()) {
    EXPECT_TRUE(subject["text"].get<std::string>().starts_with(subject["prompt"].get<std::string>()));
    corpus.push_back(subject["text"]);
  }
  ASSERT_FALSE(corpus.empty());
  const eval::TfidfVectorizer vectorizer = eval::TfidfVectorizer::fit(corpus);
  for (const std::string side : {"after_", "before_"}) {
    std::map<std::string, std::vector<std::string>> by_sample;
    std::vector<std::string> order;
    for (const auto& record : records) {
      const std::string id = record["id"];
      if (by_sample.count(id) == 0) order.push_back(id);
      const std::string text = record[side + "generations"][0];
      EXPECT_TRUE(text.starts_with(record["prompt"].get<std::string>())) << text;
      by_sample[id].push_back(text);
    }
    double fluency = 0;
    double consistency = 0;
    for (const std::string& id : order) {
      fluency += eval::mean_weighted_ngram_entropy(by_sample[id]);
      std::vector<std::string> references;
      for (const auto& name : refs["samples"][id])
        references.push_back(refs["subjects"][name.get<std::string>()]["text"]);
      if (!references.empty()) consistency += eval::tfidf_similarity(vectorizer, by_sample[id], references);
    }
    const auto& m = side == "after_" ? metrics : metrics["unedited"];
    EXPECT_NEAR(m["fluency"]["mean"].get<double>(), fluency / 2.0, 1e-9) << side;
    EXPECT_NEAR(m["consistency"]["mean"].get<double>(), consistency / 2.0, 1e-9) << side;
  }
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

// Spec §8.15: with paraphrase and generation over several layers, the run picks the layer of the
// best harmonic mean of paraphrase score, consistency and fluency.
TEST(EvalFactGenGenerationCli, SelectsTheLayerByTheHarmonicMean) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("fact_gen_selection");
  const auto r = test::run_remedi({"eval", "fact-gen", "-n", "sweep", "--results-dir", results, "-t",
                                   "identity", "-l", "2", "5", "-b", "paraphrase", "generation", "--rows",
                                   "train[5000:5002]", "--max-length", "20", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto selection = read_json(results + "/sweep/identity/layer_selection.json");
  double best = -1;
  int best_layer = -1;
  for (const int layer : {2, 5}) {
    const std::string folder = results + "/sweep/identity/" + std::to_string(layer) + "/";
    const double p = read_json(folder + "paraphrase_metrics.json")["score"]["mean"];
    const auto g = read_json(folder + "generation_metrics.json");
    const double c = g["consistency"]["mean"];
    const double f = g["fluency"]["mean"];
    const double h = p == 0 || c == 0 || f == 0 ? 0.0 : 3.0 / (1 / p + 1 / c + 1 / f);
    EXPECT_NEAR(selection["scores"][std::to_string(layer)].get<double>(), h, 1e-12) << layer;
    if (h > best) {
      best = h;
      best_layer = layer;
    }
  }
  EXPECT_EQ(selection["best_layer"], best_layer);
  EXPECT_EQ(nlohmann::json::parse(r.out)["layer_selection"]["best_layer"], best_layer);
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
