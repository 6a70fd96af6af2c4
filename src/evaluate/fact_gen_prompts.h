// The rows of the CounterFact benchmarks (METHOD §8.2-8.7): which prompts each benchmark asks of a
// sample, the subjects that share a true object (the replace baseline's candidates and the consistency
// references' subjects) and the essence prompts. Pure data: no model here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/sample.h"

namespace remedi::evaluate {

// The prompts of sample.source[field], a JSON array of strings ("paraphrase_prompts",
// "neighborhood_prompts", "generation_prompts"). Throws remedi::Error naming the sample and the field
// when it is absent (a sample that is not CounterFact's).
std::vector<std::string> source_prompts(const data::MediationSample& sample, const std::string& field);

// The rewrite prompt with the subject in place ("The mother tongue of Danielle Darrieux is"), or
// nothing when the record has no requested_rewrite.prompt template with a "{}" slot.
std::optional<std::string> rewrite_prompt(const data::MediationSample& sample);

// Generation prompts (METHOD §8.4): ROME's generation_prompts when the record has them; the EasyEdit
// layout has none, so there the rewrite prompt and the paraphrase prompts stand in for them
// (docs/DEVIATIONS.md).
std::vector<std::string> generation_prompts(const data::MediationSample& sample);

// A benchmark's rows: one per prompt, and the sample (index into the samples) each belongs to.
struct PromptRows {
  std::vector<data::MediationSample> rows;
  std::vector<std::size_t> owner;  // owner[r]: the sample of rows[r]
};

// One row per distinct prompt of each sample (first occurrence order, METHOD Q11): the sample with
// `prompt` replaced.
PromptRows flatten_prompts(
    const std::vector<data::MediationSample>& samples,
    const std::function<std::vector<std::string>(const data::MediationSample&)>& prompts_of);

// The relation of a CounterFact sample: ROME's requested_rewrite.relation_id when the record has it,
// else its rewrite template (the EasyEdit layout has no relation ids; one relation has a few templates,
// so this is stricter than the original's relation match).
std::string relation_key(const data::MediationSample& sample);

// Every CounterFact subject of a pool (rows with a true object) by what it truly has, each group
// sorted by name. Points into the pool, which must outlive it.
class SubjectIndex {
 public:
  using ByName = std::map<std::string, const data::MediationSample*>;

  explicit SubjectIndex(const std::vector<data::MediationSample>& pool);
  // Subjects of the sample's relation whose true object is the sample's new target.
  const ByName& same_relation(const data::MediationSample& sample) const;
  // Subjects of any relation whose true object is the sample's new target.
  const ByName& same_object(const data::MediationSample& sample) const;

 private:
  static inline const ByName kNone;
  std::map<std::pair<std::string, std::string>, ByName> by_relation_;  // (relation, true object)
  std::map<std::string, ByName> by_object_;                            // true object
};

// The replace baseline (METHOD §8.7): each sample's entity becomes another subject of the same relation
// whose true object is the sample's new target (index.same_relation), chosen by a generator seeded with
// `seed` and the sample id, whatever the pool's order; the entity is replaced everywhere in the sample
// (context, attribute, prompt, paraphrase and generation prompts) and source.replacement_entity names
// the new one. Samples with no such subject are dropped and counted in `dropped`.
std::vector<data::MediationSample> replace_entities(const std::vector<data::MediationSample>& samples,
                                                    const SubjectIndex& index, std::uint64_t seed,
                                                    std::size_t& dropped);

// Essence (METHOD §8.5): each sample's entity introduced in a Wikipedia voice, "<entity> is".
inline const std::string kWikipediaPrefix = "The following is an excerpt from a Wikipedia article:\n\n";
// The text after the Wikipedia prefix: the original drops the prefix's length in characters.
std::string cut_wikipedia_prefix(const std::string& text);
// One row per sample whose prompt is kWikipediaPrefix + "<entity> is".
std::vector<data::MediationSample> essence_rows(const std::vector<data::MediationSample>& samples);

}  // namespace remedi::evaluate
