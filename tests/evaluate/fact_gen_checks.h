// Checks shared by the fact-gen tests (tests/evaluate on the tiny models, tests/apps on SmolLM2): the
// generation and essence metrics recomputed from the texts and references fact_gen wrote, with the
// metric functions (METHOD §8.4-8.5).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "eval/fluency.h"
#include "eval/tfidf.h"

namespace remedi::test {

// generation.json `records` (each text starts with its row's prompt) against generation_metrics.json
// `metrics` and the references file `refs`: fluency and consistency per sample, averaged over the
// `samples` samples, edited ("after_") and unedited ("before_", metrics["unedited"]).
inline void expect_generation_metrics(const nlohmann::json& records, const nlohmann::json& metrics,
                                      const nlohmann::json& refs, std::size_t samples) {
  std::vector<std::string> corpus;  // the vectorizer is fitted on the distinct reference texts
  for (const auto& [name, subject] : refs["subjects"].items()) {
    EXPECT_TRUE(subject["text"].get<std::string>().starts_with(subject["prompt"].get<std::string>()));
    corpus.push_back(subject["text"]);
  }
  ASSERT_FALSE(corpus.empty());
  ASSERT_EQ(records.size(), metrics["prompts"].get<std::size_t>());
  const eval::TfidfVectorizer vectorizer = eval::TfidfVectorizer::fit(corpus);
  for (const std::string side : {"after_", "before_"}) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::string>> by_sample;
    for (const auto& record : records) {
      const std::string id = record["id"];
      if (by_sample.count(id) == 0) order.push_back(id);
      const std::string text = record[side + "generations"][0];
      EXPECT_TRUE(text.starts_with(record["prompt"].get<std::string>())) << text;
      by_sample[id].push_back(text);
    }
    ASSERT_EQ(order.size(), samples);
    double fluency = 0;
    double consistency = 0;
    for (const std::string& id : order) {
      fluency += eval::mean_weighted_ngram_entropy(by_sample[id]);
      std::vector<std::string> references;
      for (const auto& name : refs["samples"][id])
        references.push_back(refs["subjects"][name.get<std::string>()]["text"]);
      if (!references.empty()) consistency += eval::tfidf_similarity(vectorizer, by_sample[id], references);
    }
    const nlohmann::json& m = side == "after_" ? metrics : metrics["unedited"];
    const auto n = static_cast<double>(samples);
    EXPECT_NEAR(m["fluency"]["mean"].get<double>(), fluency / n, 1e-9) << side;
    EXPECT_NEAR(m["consistency"]["mean"].get<double>(), consistency / n, 1e-9) << side;
  }
}

// essence.json `records` (one per sample: the Wikipedia prompt, the reference before, the generation
// after, both starting "<entity> is") against essence_metrics.json `metrics` and the references of
// the references file.
inline void expect_essence_metrics(const nlohmann::json& records, const nlohmann::json& metrics,
                                   const std::vector<std::string>& references) {
  ASSERT_EQ(records.size(), references.size());
  const eval::TfidfVectorizer vectorizer = eval::TfidfVectorizer::fit(references);
  double essence = 0;
  double fluency = 0;
  double reference_fluency = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string entity = records[i]["entity"];
    EXPECT_EQ(records[i]["prompt"],
              "The following is an excerpt from a Wikipedia article:\n\n" + entity + " is");
    const std::string before = records[i]["before_generations"][0];
    const std::string after = records[i]["after_generations"][0];
    EXPECT_EQ(before, references[i]);
    EXPECT_TRUE(before.starts_with(entity + " is")) << before;
    EXPECT_TRUE(after.starts_with(entity + " is")) << after;
    essence += eval::tfidf_similarity(vectorizer, {after}, {before});
    fluency += eval::weighted_ngram_entropy(after);
    reference_fluency += eval::weighted_ngram_entropy(before);
  }
  const auto n = static_cast<double>(records.size());
  EXPECT_NEAR(metrics["essence"]["mean"].get<double>(), essence / n, 1e-9);
  EXPECT_NEAR(metrics["fluency_generation"]["mean"].get<double>(), fluency / n, 1e-9);
  EXPECT_EQ(metrics["fluency_generaton"], metrics["fluency_generation"]);  // the original's spelling
  EXPECT_NEAR(metrics["fluency_references"]["mean"].get<double>(), reference_fluency / n, 1e-9);
  EXPECT_EQ(metrics["samples"], records.size());
}

}  // namespace remedi::test
