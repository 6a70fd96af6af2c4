#include "evaluate/fact_gen_prompts.h"

#include <algorithm>
#include <random>

#include "data/text.h"
#include "util/error.h"
#include "util/hash.h"

namespace remedi::evaluate {

std::vector<std::string> source_prompts(const data::MediationSample& sample, const std::string& field) {
  const data::Json& source = sample.source;
  if (!source.contains(field) || !source[field].is_array()) {
    throw Error("<data>", "sample " + sample.id + " source." + field, "missing (not CounterFact?)");
  }
  std::vector<std::string> prompts;
  for (const auto& prompt : source[field]) prompts.push_back(prompt.get<std::string>());
  return prompts;
}

std::optional<std::string> rewrite_prompt(const data::MediationSample& sample) {
  const data::Json& rewrite = sample.source.value("requested_rewrite", data::Json::object());
  std::string text = rewrite.value("prompt", std::string());
  const std::size_t at = text.find("{}");
  if (at == std::string::npos) return std::nullopt;
  return text.replace(at, 2, sample.entity);
}

std::vector<std::string> generation_prompts(const data::MediationSample& sample) {
  if (sample.source.contains("generation_prompts")) return source_prompts(sample, "generation_prompts");
  std::vector<std::string> prompts;
  if (const auto rewrite = rewrite_prompt(sample)) prompts.push_back(*rewrite);
  for (const std::string& p : source_prompts(sample, "paraphrase_prompts")) prompts.push_back(p);
  return prompts;
}

PromptRows flatten_prompts(
    const std::vector<data::MediationSample>& samples,
    const std::function<std::vector<std::string>(const data::MediationSample&)>& prompts_of) {
  PromptRows out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<std::string> seen;
    for (const std::string& text : prompts_of(samples[i])) {
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
      seen.push_back(text);
      data::MediationSample row = samples[i];
      row.prompt = text;
      out.rows.push_back(std::move(row));
      out.owner.push_back(i);
    }
  }
  return out;
}

std::string relation_key(const data::MediationSample& sample) {
  const data::Json& rewrite = sample.source.value("requested_rewrite", data::Json::object());
  if (rewrite.contains("relation_id") && rewrite["relation_id"].is_string())
    return rewrite["relation_id"].get<std::string>();
  return rewrite.value("prompt", std::string());
}

SubjectIndex::SubjectIndex(const std::vector<data::MediationSample>& pool) {
  for (const data::MediationSample& s : pool) {
    if (!s.target_unmediated) continue;
    by_relation_[{relation_key(s), *s.target_unmediated}].emplace(s.entity, &s);
    by_object_[*s.target_unmediated].emplace(s.entity, &s);
  }
}

const SubjectIndex::ByName& SubjectIndex::same_relation(const data::MediationSample& sample) const {
  const auto found = by_relation_.find({relation_key(sample), sample.target_mediated});
  return found == by_relation_.end() ? kNone : found->second;
}

const SubjectIndex::ByName& SubjectIndex::same_object(const data::MediationSample& sample) const {
  const auto found = by_object_.find(sample.target_mediated);
  return found == by_object_.end() ? kNone : found->second;
}

std::vector<data::MediationSample> replace_entities(const std::vector<data::MediationSample>& samples,
                                                    const SubjectIndex& index, std::uint64_t seed,
                                                    std::size_t& dropped) {
  std::vector<data::MediationSample> replaced;
  dropped = 0;
  for (const data::MediationSample& sample : samples) {
    std::vector<std::string> names;  // sorted: the choice does not depend on the pool's order
    for (const auto& [name, subject] : index.same_relation(sample))
      if (name != sample.entity) names.push_back(name);
    if (names.empty()) {
      ++dropped;
      continue;
    }
    std::mt19937_64 generator(fnv1a_field(fnv1a(kFnvOffset, &seed, sizeof seed), sample.id));
    const std::string& name =
        names[std::uniform_int_distribution<std::size_t>(0, names.size() - 1)(generator)];
    const auto swap = [&](const std::string& text) { return data::replace_all(text, sample.entity, name); };
    data::MediationSample r = sample;
    r.entity = name;
    r.context = swap(sample.context);
    r.attribute = swap(sample.attribute);
    r.prompt = swap(sample.prompt);
    for (const char* field : {"paraphrase_prompts", "generation_prompts"}) {
      if (!r.source.contains(field) || !r.source[field].is_array()) continue;
      for (auto& prompt : r.source[field])
        if (prompt.is_string()) prompt = swap(prompt.get<std::string>());
    }
    r.source["replacement_entity"] = name;
    replaced.push_back(std::move(r));
  }
  return replaced;
}

std::string cut_wikipedia_prefix(const std::string& text) {
  return text.substr(std::min(text.size(), kWikipediaPrefix.size()));
}

std::vector<data::MediationSample> essence_rows(const std::vector<data::MediationSample>& samples) {
  std::vector<data::MediationSample> rows = samples;
  for (data::MediationSample& row : rows) row.prompt = kWikipediaPrefix + row.entity + " is";
  return rows;
}

}  // namespace remedi::evaluate
