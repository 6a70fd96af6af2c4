// The CounterFact benchmarks' rows on hand-made samples (evaluate/fact_gen_prompts.h): the prompts of
// each benchmark, the subjects indexed by their true object, and the replace baseline (METHOD §8.7).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "evaluate/fact_gen_prompts.h"
#include "util/error.h"

namespace remedi {
namespace {

// A CounterFact-like sample: `relation` with the rewrite template "{} <template>", the entity's true
// object and the new one, two paraphrase prompts (the first one twice).
data::MediationSample counterfact(const std::string& id, const std::string& entity,
                                  const std::string& relation, const std::string& truth,
                                  const std::string& target) {
  data::MediationSample s;
  s.id = id;
  s.entity = entity;
  s.context = entity + " is a citizen of " + target;
  s.attribute = "is a citizen of " + target;
  s.prompt = entity + " holds a passport of";
  s.target_mediated = target;
  s.target_unmediated = truth;
  s.source = {
      {"requested_rewrite", {{"prompt", "{} is a citizen of"}, {"relation_id", relation}}},
      {"paraphrase_prompts",
       {"Ask " + entity + " where home is", "Ask " + entity + " where home is", entity + " lives in"}}};
  return s;
}

std::vector<data::MediationSample> pool() {
  return {counterfact("0", "Ann", "P27", "France", "Italy"), counterfact("1", "Bob", "P27", "Italy", "Spain"),
          counterfact("2", "Cid", "P27", "Italy", "Chile"), counterfact("3", "Dee", "P17", "Italy", "Peru"),
          counterfact("4", "Eve", "P27", "Spain", "Japan")};
}

std::vector<std::string> names(const evaluate::SubjectIndex::ByName& group) {
  std::vector<std::string> out;
  for (const auto& [name, sample] : group) out.push_back(name);
  return out;
}

TEST(FactGenPrompts, ParaphraseAndGenerationPrompts) {
  const data::MediationSample ann = pool()[0];
  EXPECT_EQ(evaluate::rewrite_prompt(ann), "Ann is a citizen of");
  // EasyEdit layout: the rewrite prompt and the paraphrases stand in for ROME's generation prompts.
  EXPECT_EQ(evaluate::generation_prompts(ann),
            (std::vector<std::string>{"Ann is a citizen of", "Ask Ann where home is", "Ask Ann where home is",
                                      "Ann lives in"}));
  data::MediationSample rome = ann;
  rome.source["generation_prompts"] = {"Ann's passport says"};
  EXPECT_EQ(evaluate::generation_prompts(rome), std::vector<std::string>{"Ann's passport says"});
  rome.source["requested_rewrite"]["prompt"] = "no slot";
  EXPECT_FALSE(evaluate::rewrite_prompt(rome).has_value());

  // One row per distinct prompt, in order; owner points back at the sample.
  const std::vector<data::MediationSample> samples = {ann, pool()[1]};
  const evaluate::PromptRows rows = evaluate::flatten_prompts(samples, [](const data::MediationSample& s) {
    return evaluate::source_prompts(s, "paraphrase_prompts");
  });
  ASSERT_EQ(rows.rows.size(), 4U);
  EXPECT_EQ(rows.owner, (std::vector<std::size_t>{0, 0, 1, 1}));
  EXPECT_EQ(rows.rows[1].prompt, "Ann lives in");
  EXPECT_EQ(rows.rows[2].prompt, "Ask Bob where home is");
  EXPECT_EQ(rows.rows[2].context, "Bob is a citizen of Spain");

  data::MediationSample bare = ann;
  bare.source = data::Json::object();
  try {
    evaluate::source_prompts(bare, "neighborhood_prompts");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 0 source.neighborhood_prompts"), std::string::npos)
        << e.what();
  }
}

TEST(FactGenPrompts, SubjectsAreIndexedByWhatTheyTrulyHave) {
  std::vector<data::MediationSample> subjects = pool();
  subjects.push_back(counterfact("5", "Fay", "P27", "Italy", "Laos"));
  subjects.back().target_unmediated.reset();  // without a true object: not a subject
  const evaluate::SubjectIndex index(subjects);
  const data::MediationSample& ann = subjects[0];  // new target Italy
  EXPECT_EQ(names(index.same_relation(ann)), (std::vector<std::string>{"Bob", "Cid"}));
  EXPECT_EQ(names(index.same_object(ann)), (std::vector<std::string>{"Bob", "Cid", "Dee"}));
  EXPECT_TRUE(index.same_relation(subjects[4]).empty());  // nobody is truly from Japan
  EXPECT_EQ(evaluate::relation_key(ann), "P27");
  data::MediationSample easyedit = ann;
  easyedit.source["requested_rewrite"].erase("relation_id");
  EXPECT_EQ(evaluate::relation_key(easyedit), "{} is a citizen of");
}

// METHOD §8.7: another subject of the same relation whose true object is the new target, everywhere in
// the sample; samples without one are dropped and counted.
TEST(FactGenPrompts, ReplaceBaselineSwapsInASubjectWithTheNewObject) {
  const std::vector<data::MediationSample> subjects = pool();
  const evaluate::SubjectIndex index(subjects);
  const std::vector<data::MediationSample> samples = {subjects[0], subjects[4]};
  std::set<std::string> chosen;
  for (std::uint64_t seed = 0; seed < 16; ++seed) {
    std::size_t dropped = 0;
    const std::vector<data::MediationSample> replaced =
        evaluate::replace_entities(samples, index, seed, dropped);
    EXPECT_EQ(dropped, 1U);  // Eve: nobody is truly from Japan
    ASSERT_EQ(replaced.size(), 1U);
    const data::MediationSample& r = replaced[0];
    ASSERT_TRUE(r.entity == "Bob" || r.entity == "Cid") << r.entity;  // never Dee (another relation)
    chosen.insert(r.entity);
    EXPECT_EQ(r.id, "0");
    EXPECT_EQ(r.context, r.entity + " is a citizen of Italy");
    EXPECT_EQ(r.attribute, "is a citizen of Italy");
    EXPECT_EQ(r.prompt, r.entity + " holds a passport of");
    EXPECT_EQ(r.source["paraphrase_prompts"][2], r.entity + " lives in");
    EXPECT_EQ(r.source["replacement_entity"], r.entity);
    EXPECT_EQ(r.target_mediated, "Italy");
    // The choice depends on the seed and the sample id, not on the pool's order.
    std::vector<data::MediationSample> reversed(subjects.rbegin(), subjects.rend());
    const evaluate::SubjectIndex reversed_index(reversed);
    std::size_t again = 0;
    EXPECT_EQ(evaluate::replace_entities(samples, reversed_index, seed, again)[0].entity, r.entity);
  }
  EXPECT_EQ(chosen.size(), 2U);  // over 16 seeds both candidates come up
}

TEST(FactGenPrompts, EssenceRowsIntroduceTheEntity) {
  const std::vector<data::MediationSample> rows = evaluate::essence_rows(pool());
  ASSERT_EQ(rows.size(), 5U);
  EXPECT_EQ(rows[1].prompt, "The following is an excerpt from a Wikipedia article:\n\nBob is");
  EXPECT_EQ(evaluate::cut_wikipedia_prefix(rows[1].prompt + " a painter."), "Bob is a painter.");
  EXPECT_EQ(evaluate::cut_wikipedia_prefix("short"), "");
}

}  // namespace
}  // namespace remedi
