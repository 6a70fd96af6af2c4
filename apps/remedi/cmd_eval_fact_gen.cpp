// `remedi eval fact-gen` (also `eval-fact-gen`): the CounterFact editing benchmarks of METHOD §8.2-8.3
// (efficacy and paraphrase) and a real neighbourhood benchmark (METHOD §8.6, docs/DEVIATIONS.md) for trained
// editors, with the unedited LM's scores on the same prompts beside them, or for the prefix and replace
// baselines (METHOD §8.7: the unedited LM on modified prompts). Writes
// <results>/<name>/<type>/<layer>/<benchmark>.json (per prompt) and <benchmark>_metrics.json, or
// <results>/<name>/<baseline>/... for a baseline. The generation benchmark (METHOD §8.4: fluency and
// consistency of sampled continuations) and the essence benchmark (METHOD §8.5: does the entity keep its
// other properties) use stand-ins for what the EasyEdit layout and our data lack (docs/DEVIATIONS.md).
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "data/text.h"
#include "eval/fluency.h"
#include "eval/metrics.h"
#include "eval/tfidf.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/generation.h"
#include "remedi/scoring.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/hash.h"

namespace remedi::cli {

namespace {

struct EvalArgs : EvalOptions {
  std::vector<std::string> benchmarks{"efficacy", "paraphrase"};
  std::string baseline;           // "", "prefix" or "replace"
  std::int64_t max_length = 100;  // generation: total tokens including the left-padded prompt
};

nlohmann::json args_json(const EvalArgs& a) {
  nlohmann::json args = eval_options_json(a);
  args["benchmarks"] = a.benchmarks;
  args["baseline"] = a.baseline;
  args["max_length"] = a.max_length;
  return args;
}

const std::vector<std::string> kBenchmarks{"efficacy", "paraphrase", "neighborhood", "generation", "essence"};

// The prompts of source[field], a JSON array of strings; throws naming the sample when absent.
std::vector<std::string> source_prompts(const data::MediationSample& sample, const std::string& field) {
  const data::Json& source = sample.source;
  if (!source.contains(field) || !source[field].is_array()) {
    throw Error("<data>", "sample " + sample.id + " source." + field, "missing (not CounterFact?)");
  }
  std::vector<std::string> prompts;
  for (const auto& prompt : source[field]) prompts.push_back(prompt.get<std::string>());
  return prompts;
}

// The rewrite prompt with the subject in place ("The mother tongue of Danielle Darrieux is"), or
// nothing when the record has no requested_rewrite.prompt template.
std::optional<std::string> rewrite_prompt(const data::MediationSample& sample) {
  const data::Json& rewrite = sample.source.value("requested_rewrite", data::Json::object());
  std::string text = rewrite.value("prompt", std::string());
  const std::size_t at = text.find("{}");
  if (at == std::string::npos) return std::nullopt;
  return text.replace(at, 2, sample.entity);
}

// Generation prompts (METHOD §8.4): ROME's generation_prompts when the record has them; the EasyEdit
// layout has none, so there the rewrite prompt and the paraphrase prompts stand in for them
// (docs/DEVIATIONS.md).
std::vector<std::string> generation_prompts(const data::MediationSample& sample) {
  if (sample.source.contains("generation_prompts")) return source_prompts(sample, "generation_prompts");
  std::vector<std::string> prompts;
  if (const auto rewrite = rewrite_prompt(sample)) prompts.push_back(*rewrite);
  for (const std::string& p : source_prompts(sample, "paraphrase_prompts")) prompts.push_back(p);
  return prompts;
}

// One row per distinct prompt of each sample (first occurrence order, METHOD Q11), `prompt` replaced;
// owner[row] is the row's sample.
std::vector<data::MediationSample> flatten_prompts(
    const std::vector<data::MediationSample>& samples,
    const std::function<std::vector<std::string>(const data::MediationSample&)>& prompts_of,
    std::vector<std::size_t>& owner) {
  std::vector<data::MediationSample> rows;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<std::string> seen;
    for (const std::string& text : prompts_of(samples[i])) {
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
      seen.push_back(text);
      data::MediationSample row = samples[i];
      row.prompt = text;
      rows.push_back(row);
      owner.push_back(i);
    }
  }
  return rows;
}

nlohmann::json scores_json(const tok::Tokenizer& tokenizer, const TargetScores& scores, std::int64_t row,
                           const std::string& prefix) {
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json logps = nlohmann::json::array();
  for (std::int64_t k = 0; k < scores.top_ids.size(1); ++k) {
    tokens.push_back(tokenizer.decode({scores.top_ids[row][k].item<std::int64_t>()}));
    logps.push_back(scores.top_logp[row][k].item<double>());
  }
  return {{prefix + "top_tokens", tokens},
          {prefix + "top_logps", logps},
          {prefix + "target_mediated_score", scores.mediated_logp[row].item<double>()},
          {prefix + "target_unmediated_score", scores.unmediated_logp[row].item<double>()}};
}

// Efficacy metrics of per-sample groups of rows: p(target_new) > p(target_true), or for the
// neighbourhood benchmark (`keeps_true`) p(target_true) > p(target_new), ROME's neighbourhood success.
eval::EfficacyMetrics group_efficacy(const TargetScores& scores, const std::vector<std::size_t>& owner,
                                     std::size_t groups, bool keeps_true) {
  std::vector<std::vector<double>> targets(groups);
  std::vector<std::vector<double>> comparators(groups);
  for (std::size_t r = 0; r < owner.size(); ++r) {
    const double mediated = scores.mediated_logp[static_cast<std::int64_t>(r)].item<double>();
    const double unmediated = scores.unmediated_logp[static_cast<std::int64_t>(r)].item<double>();
    targets[owner[r]].push_back(keeps_true ? unmediated : mediated);
    comparators[owner[r]].push_back(keeps_true ? mediated : unmediated);
  }
  return eval::efficacy(targets, comparators, eval::ProbabilityScale::kLogProbability);
}

// One benchmark's prompts ready to score: the rows, the sample each row belongs to, and how to score.
struct PreparedBenchmark {
  std::string name;
  std::vector<data::MediationSample> rows;
  std::vector<std::size_t> owner;
  ScoringOptions scoring;
  bool keeps_true = false;  // neighbourhood: success is p(target_true) > p(target_new)
};

PreparedBenchmark prepare_benchmark(const std::string& benchmark,
                                    const std::vector<data::MediationSample>& samples,
                                    const ScoringOptions& options) {
  PreparedBenchmark b;
  b.name = benchmark;
  if (benchmark == "paraphrase") {
    b.rows = flatten_prompts(
        samples, [](const data::MediationSample& s) { return source_prompts(s, "paraphrase_prompts"); },
        b.owner);
  } else if (benchmark == "neighborhood") {
    b.rows = flatten_prompts(
        samples, [](const data::MediationSample& s) { return source_prompts(s, "neighborhood_prompts"); },
        b.owner);
  } else {
    b.rows = samples;
    for (std::size_t i = 0; i < samples.size(); ++i) b.owner.push_back(i);
  }
  b.scoring = options;
  // Neighbourhood prompts are about other subjects: the edit goes where the method puts it, the
  // entity's mention in the prompt, and a prompt that does not mention it is not edited.
  b.keeps_true = benchmark == "neighborhood";
  b.scoring.allow_missing_entity = b.keeps_true;
  return b;
}

// The relation of a CounterFact sample: ROME's relation_id when the record has it, else its rewrite
// template (the EasyEdit layout has no relation ids; one relation has a few templates, so this is
// stricter than the original's relation match).
std::string relation_key(const data::MediationSample& sample) {
  const data::Json& rewrite = sample.source.value("requested_rewrite", data::Json::object());
  if (rewrite.contains("relation_id") && rewrite["relation_id"].is_string())
    return rewrite["relation_id"].get<std::string>();
  return rewrite.value("prompt", std::string());
}

// Every CounterFact subject (the pool's rows) by what it truly has, each group sorted by name: the
// replace baseline's candidates and the consistency references' subjects. Points into the pool.
class SubjectIndex {
 public:
  using ByName = std::map<std::string, const data::MediationSample*>;

  explicit SubjectIndex(const std::vector<data::MediationSample>& pool) {
    for (const data::MediationSample& s : pool) {
      if (!s.target_unmediated) continue;
      by_relation_[{relation_key(s), *s.target_unmediated}].emplace(s.entity, &s);
      by_object_[*s.target_unmediated].emplace(s.entity, &s);
    }
  }
  // Subjects of the sample's relation whose true object is its new target.
  const ByName& same_relation(const data::MediationSample& sample) const {
    const auto found = by_relation_.find({relation_key(sample), sample.target_mediated});
    return found == by_relation_.end() ? kNone : found->second;
  }
  // Subjects of any relation whose true object is the sample's new target.
  const ByName& same_object(const data::MediationSample& sample) const {
    const auto found = by_object_.find(sample.target_mediated);
    return found == by_object_.end() ? kNone : found->second;
  }

 private:
  static inline const ByName kNone;
  std::map<std::pair<std::string, std::string>, ByName> by_relation_;  // (relation, true object)
  std::map<std::string, ByName> by_object_;                            // true object
};

// The replace baseline (METHOD §8.7): each sample's entity becomes another CounterFact subject of the
// same relation whose true object is the sample's new target, chosen by a generator seeded with
// `seed` and the sample id; the entity is replaced everywhere in the sample, its prompts included.
// Samples with no such subject are dropped and counted in `dropped`.
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

// Consistency references (METHOD §8.4; we lack ROME's attribute snippets, docs/DEVIATIONS.md): for
// each sample, up to kReferenceSubjects other CounterFact subjects whose true object is the sample's
// new target, those of the same relation first, then any (each group by name); each one's true
// statement (its rewrite prompt + its true object) continued by the unedited LM is a reference text. The
// TF-IDF vectorizer is fitted on the distinct reference texts (smooth idf). The texts are kept in
// `folder`/generation_references-<hash of the key>.json, the key being the model, the sampling
// settings and the subjects, and reused by any later run with the same key.
constexpr std::size_t kReferenceSubjects = 3;

// <folder>/<stem>-<hash of key>.json: a cache file whose name says what it was computed from, so that
// runs with other rows or settings in the same experiment do not overwrite each other's.
std::string keyed_path(const std::string& folder, const std::string& stem, const nlohmann::json& key) {
  return (std::filesystem::path(folder) / (stem + "-" + hex64(fnv1a_field(kFnvOffset, key.dump())) + ".json"))
      .string();
}

// The JSON object in `path` when it exists, parses and holds `key` under "key"; otherwise null.
nlohmann::json read_cache(const std::string& path, const nlohmann::json& key) {
  if (!std::filesystem::exists(path)) return nullptr;
  std::ifstream in(path);
  nlohmann::json cached = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!cached.is_object() || cached.value("key", nlohmann::json()) != key) return nullptr;
  return cached;
}

struct GenerationReferences {
  std::vector<std::vector<std::string>> texts;  // per sample; empty: no such subject
  std::optional<eval::TfidfVectorizer> vectorizer;
  std::size_t without_references = 0;
  nlohmann::json json;  // what `file` holds
  std::string file;     // <folder>/generation_references-<key hash>.json
};

GenerationReferences build_references(const std::vector<data::MediationSample>& samples,
                                      const SubjectIndex& index, const lm::CausalLM& model,
                                      const tok::Tokenizer& tokenizer, const GenerationOptions& options,
                                      const std::string& folder) {
  std::vector<std::vector<std::string>> chosen(samples.size());
  std::map<std::string, const data::MediationSample*> subjects;  // every chosen subject once
  const auto take = [&](std::size_t i, const SubjectIndex::ByName& names) {
    for (const auto& [name, subject] : names) {
      if (chosen[i].size() == kReferenceSubjects) return;
      if (name == samples[i].entity || std::find(chosen[i].begin(), chosen[i].end(), name) != chosen[i].end())
        continue;
      chosen[i].push_back(name);
      subjects.emplace(name, subject);
    }
  };
  for (std::size_t i = 0; i < samples.size(); ++i) {
    take(i, index.same_relation(samples[i]));
    take(i, index.same_object(samples[i]));
  }
  std::vector<data::MediationSample> rows;
  for (const auto& [name, subject] : subjects) {
    data::MediationSample row = *subject;
    row.prompt = data::unmediated_context(*subject);  // the subject's true statement
    rows.push_back(std::move(row));
  }
  // The texts depend on the model, the subjects (and so the batches) and the sampling settings: a
  // file written by an earlier run with the same key is reused.
  nlohmann::json subject_names = nlohmann::json::array();
  for (const auto& [name, subject] : subjects) subject_names.push_back(name);
  const nlohmann::json key = {{"model", model_fingerprint(model)}, {"seed", options.seed},
                              {"max_length", options.max_length},  {"top_k", options.top_k},
                              {"batch_size", options.batch_size},  {"subjects", subject_names}};
  const std::string cache_path = keyed_path(folder, "generation_references", key);
  std::vector<std::string> generated;
  if (const nlohmann::json cached = read_cache(cache_path, key); !cached.is_null()) {
    for (const auto& [name, subject] : subjects) generated.push_back(cached["subjects"][name]["text"]);
  }
  if (generated.empty()) {
    GenerationOptions reference_options = options;
    reference_options.label = "references";
    generated = generate_texts(model, tokenizer, nullptr, rows, reference_options);
  }
  std::map<std::string, std::string> text_of;
  std::vector<std::string> corpus;
  nlohmann::json by_subject = nlohmann::json::object();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    text_of[rows[r].entity] = generated[r];
    corpus.push_back(generated[r]);
    by_subject[rows[r].entity] = {{"prompt", rows[r].prompt}, {"text", generated[r]}};
  }
  GenerationReferences refs;
  refs.file = cache_path;
  nlohmann::json per_sample = nlohmann::json::object();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::vector<std::string> texts;
    for (const std::string& name : chosen[i]) texts.push_back(text_of.at(name));
    if (texts.empty()) ++refs.without_references;
    per_sample[samples[i].id] = chosen[i];
    refs.texts.push_back(std::move(texts));
  }
  if (!corpus.empty()) refs.vectorizer = eval::TfidfVectorizer::fit(corpus);
  refs.json = {
      {"rule",
       "up to " + std::to_string(kReferenceSubjects) +
           " other subjects whose true object is the sample's new target (same relation first, then any; "
           "by name); "
           "their true statements continued by the unedited LM; TF-IDF fitted on these texts"},
      {"key", key},
      {"subjects", by_subject},
      {"samples", per_sample},
      {"samples_without_references", refs.without_references}};
  return refs;
}

// Fluency and consistency per sample (METHOD §8.4) of the generations `texts` of rows owned by samples.
struct GenerationMetrics {
  eval::Aggregate fluency;
  eval::Aggregate consistency;
};

GenerationMetrics generation_metrics(const std::vector<std::string>& texts,
                                     const std::vector<std::size_t>& owner,
                                     const GenerationReferences& refs) {
  std::vector<std::vector<std::string>> grouped(refs.texts.size());
  for (std::size_t r = 0; r < texts.size(); ++r) grouped[owner[r]].push_back(texts[r]);
  std::vector<double> fluency;
  std::vector<double> consistency;
  for (std::size_t i = 0; i < grouped.size(); ++i) {
    fluency.push_back(eval::mean_weighted_ngram_entropy(grouped[i]));
    // No reference: an empty reference, cosine 0 (as the original without snippets).
    consistency.push_back(refs.texts[i].empty() || !refs.vectorizer
                              ? 0.0
                              : eval::tfidf_similarity(*refs.vectorizer, grouped[i], refs.texts[i]));
  }
  return {eval::aggregate(fluency, true), eval::aggregate(consistency, true)};
}

nlohmann::json generation_metrics_json(const GenerationMetrics& m) {
  return {{"fluency", aggregate_json(m.fluency)}, {"consistency", aggregate_json(m.consistency)}};
}

nlohmann::json generation_records(const std::vector<data::MediationSample>& rows,
                                  const std::vector<std::string>& before,
                                  const std::vector<std::string>* after) {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    nlohmann::json record = data::sample_to_json(rows[r]);
    record["before_generations"] = {before[r]};
    if (after != nullptr) record["after_generations"] = {(*after)[r]};
    results.push_back(record);
  }
  return results;
}

// The generation benchmark's rows and references, shared by the editors and baselines of a run.
struct GenerationSetup {
  std::vector<data::MediationSample> rows;
  std::vector<std::size_t> owner;
  GenerationReferences refs;
  GenerationOptions options;
};

GenerationOptions generation_options(const EvalArgs& a) {
  GenerationOptions options;
  options.batch_size = a.batch_size;
  options.max_length = a.max_length;
  options.seed = a.data.seed;
  options.progress = !a.quiet;
  return options;
}

GenerationSetup prepare_generation(const EvalArgs& a, const std::vector<data::MediationSample>& samples,
                                   const SubjectIndex& index, const lm::CausalLM& model,
                                   const tok::Tokenizer& tokenizer, const std::string& experiment) {
  GenerationSetup g;
  g.options = generation_options(a);
  g.options.allow_missing_entity = true;  // a paraphrase may name the subject differently: left unedited
  g.rows = flatten_prompts(samples, generation_prompts, g.owner);
  g.refs = build_references(samples, index, model, tokenizer, g.options, experiment);
  write_json(g.refs.file, g.refs.json);
  return g;
}

// Essence (METHOD §8.5): each sample's entity introduced in a Wikipedia voice, "<entity> is", continued by
// the unedited LM (the references, cached per experiment under a key as the consistency references) and
// by the edited LM with the same seeds; the prefix is cut from both. Scored by TF-IDF cosine with a
// vectorizer fitted on the references (ROME's Wikipedia IDF is not available, docs/DEVIATIONS.md).
const std::string kWikipediaPrefix = "The following is an excerpt from a Wikipedia article:\n\n";

// The text after the Wikipedia prefix: the original drops the prefix's length in characters.
std::string cut_wikipedia_prefix(const std::string& text) {
  return text.substr(std::min(text.size(), kWikipediaPrefix.size()));
}

// One row per sample whose prompt is the Wikipedia prefix + "<entity> is".
std::vector<data::MediationSample> essence_rows(const std::vector<data::MediationSample>& samples) {
  std::vector<data::MediationSample> rows = samples;
  for (data::MediationSample& row : rows) row.prompt = kWikipediaPrefix + row.entity + " is";
  return rows;
}

struct EssenceSetup {
  std::map<std::string, std::string> reference_of;  // sample id -> unedited text, prefix cut
  std::optional<eval::TfidfVectorizer> vectorizer;  // fitted on the references
  std::string file;                                 // <experiment>/essence_references-<key hash>.json
};

EssenceSetup prepare_essence(const std::vector<data::MediationSample>& samples, const lm::CausalLM& model,
                             const tok::Tokenizer& tokenizer, const GenerationOptions& options,
                             const std::string& experiment) {
  nlohmann::json ids = nlohmann::json::array();
  nlohmann::json entities = nlohmann::json::array();
  for (const data::MediationSample& s : samples) {
    ids.push_back(s.id);
    entities.push_back(s.entity);
  }
  const nlohmann::json key = {{"model", model_fingerprint(model)}, {"seed", options.seed},
                              {"max_length", options.max_length},  {"top_k", options.top_k},
                              {"batch_size", options.batch_size},  {"entities", entities}};
  EssenceSetup e;
  e.file = keyed_path(experiment, "essence_references", key);
  std::vector<std::string> references;
  if (const nlohmann::json cached = read_cache(e.file, key); !cached.is_null()) {
    references = cached.at("references").get<std::vector<std::string>>();
  } else {
    GenerationOptions reference_options = options;
    reference_options.label = "essence references";
    references = generate_texts(model, tokenizer, nullptr, essence_rows(samples), reference_options);
    for (std::string& text : references) text = cut_wikipedia_prefix(text);
    write_json(e.file,
               {{"rule",
                 "the unedited LM's continuation of the Wikipedia prefix + '<entity> is', prefix cut; "
                 "TF-IDF fitted on these texts"},
                {"key", key},
                {"samples", ids},
                {"references", references}});
  }
  for (std::size_t i = 0; i < samples.size(); ++i) e.reference_of[samples[i].id] = references[i];
  try {
    e.vectorizer = eval::TfidfVectorizer::fit(references);
  } catch (const std::invalid_argument&) {
    // No reference has a word (a degenerate model): every essence is 0, as against empty references.
  }
  return e;
}

// Per sample: essence = TF-IDF cosine of its generation and its reference; the fluency of each.
nlohmann::json essence_metrics_json(const std::vector<data::MediationSample>& samples,
                                    const std::vector<std::string>& texts, const EssenceSetup& e) {
  std::vector<double> essence;
  std::vector<double> fluency_generation;
  std::vector<double> fluency_references;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::string& reference = e.reference_of.at(samples[i].id);
    essence.push_back(e.vectorizer ? eval::tfidf_similarity(*e.vectorizer, {texts[i]}, {reference}) : 0.0);
    fluency_generation.push_back(eval::weighted_ngram_entropy(texts[i]));
    fluency_references.push_back(eval::weighted_ngram_entropy(reference));
  }
  const nlohmann::json generation = aggregate_json(eval::aggregate(fluency_generation, true));
  return {{"essence", aggregate_json(eval::aggregate(essence, true))},
          {"fluency_generation", generation},
          {"fluency_generaton", generation},  // the original's spelling (METHOD Q19), for its readers
          {"fluency_references", aggregate_json(eval::aggregate(fluency_references, true))},
          {"samples", samples.size()},
          {"references_file", std::filesystem::path(e.file).filename().string()}};
}

// Per-sample records: the row (its prompt as generated from), the reference (before) and the
// generation (after).
nlohmann::json essence_records(const std::vector<data::MediationSample>& rows,
                               const std::vector<std::string>& texts, const EssenceSetup& e) {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    nlohmann::json record = data::sample_to_json(rows[i]);
    record["before_generations"] = {e.reference_of.at(rows[i].id)};
    record["after_generations"] = {texts[i]};
    results.push_back(record);
  }
  return results;
}

nlohmann::json records_json(const tok::Tokenizer& tokenizer, const std::vector<data::MediationSample>& rows,
                            const TargetScores& before, const TargetScores* after) {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    nlohmann::json record = data::sample_to_json(rows[r]);
    record.update(scores_json(tokenizer, before, static_cast<std::int64_t>(r), "before_"));
    if (after != nullptr)
      record.update(scores_json(tokenizer, *after, static_cast<std::int64_t>(r), "after_"));
    results.push_back(record);
  }
  return results;
}

// A baseline (METHOD §8.7): the unedited LM on prompts with the context prepended (prefix) or with the
// entity replaced (replace). Neighbourhood prompts get the context prepended too (prefix).
// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A baseline (METHOD §8.7): the unedited LM on prompts with the context prepended (prefix) or with the
// entity replaced (replace). Neighbourhood and generation prompts get the context prepended too
// (prefix); the prepended context is cut from the generated texts before they are scored.
void run_baseline(const EvalArgs& a, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                  std::vector<data::MediationSample> samples, const SubjectIndex& index,
                  const std::string& experiment, const ScoringOptions& options) {
  const std::vector<data::MediationSample> original = samples;  // essence compares against these
  std::size_t dropped = 0;
  if (a.baseline == "replace") {
    samples = replace_entities(samples, index, a.data.seed, dropped);
    if (samples.empty())
      throw Error("<argument>", "--baseline replace", "no sample has a replacement entity");
  }
  const std::string folder = (std::filesystem::path(experiment) / a.baseline).string();
  nlohmann::json summary = nlohmann::json::object();
  for (const std::string& benchmark : a.benchmarks) {
    nlohmann::json metrics =
        finished_metrics((std::filesystem::path(folder) / (benchmark + "_metrics.json")).string());
    if (!metrics.is_null()) {
      summary[benchmark] = std::move(metrics);
      continue;
    }
    if (benchmark == "generation") {
      GenerationSetup g = prepare_generation(a, samples, index, model, tokenizer, experiment);
      std::vector<std::string> contexts(g.rows.size());  // the prepended part of each prompt
      if (a.baseline == "prefix") {
        for (std::size_t r = 0; r < g.rows.size(); ++r) {
          const std::string prompt = data::prompt_in_context(g.rows[r]);
          contexts[r] = prompt.substr(0, prompt.size() - g.rows[r].prompt.size());
          g.rows[r].prompt = prompt;
        }
      }
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> texts = generate_texts(model, tokenizer, nullptr, g.rows, g.options);
      const double seconds = seconds_since(start);
      for (std::size_t r = 0; r < texts.size(); ++r) {
        if (!contexts[r].empty() && texts[r].starts_with(contexts[r]))
          texts[r] = texts[r].substr(contexts[r].size());
      }
      const GenerationMetrics m = generation_metrics(texts, g.owner, g.refs);
      metrics = generation_metrics_json(m);
      metrics["samples_without_references"] = g.refs.without_references;
      metrics["references_file"] = std::filesystem::path(g.refs.file).filename().string();
      metrics["generation_seconds"] = seconds;
      metrics["prompts"] = g.rows.size();
      write_json((std::filesystem::path(folder) / (benchmark + ".json")).string(),
                 generation_records(g.rows, texts, nullptr));
      if (!a.quiet) std::cerr << a.baseline << " generation: fluency " << m.fluency.mean << "\n";
    } else if (benchmark == "essence") {
      // prefix: the context goes between the Wikipedia prefix and "<entity> is" and is cut from the
      // text afterwards (the original splits on ". "); replace: "<r> is" against the references of the
      // original entity (METHOD §8.7).
      const GenerationOptions sampling = generation_options(a);
      const EssenceSetup e = prepare_essence(original, model, tokenizer, sampling, experiment);
      std::vector<data::MediationSample> rows = essence_rows(samples);
      std::vector<std::string> contexts(rows.size());
      if (a.baseline == "prefix") {
        for (std::size_t i = 0; i < rows.size(); ++i) {
          const std::string statement = samples[i].entity + " is";
          const std::string in_context =
              data::prompt_in_context(samples[i].entity, statement, samples[i].context, {});
          contexts[i] = in_context.substr(0, in_context.size() - statement.size());
          rows[i].prompt = kWikipediaPrefix + in_context;
        }
      }
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::string> texts = generate_texts(model, tokenizer, nullptr, rows, sampling);
      const double seconds = seconds_since(start);
      for (std::size_t i = 0; i < texts.size(); ++i) {
        texts[i] = cut_wikipedia_prefix(texts[i]);
        if (!contexts[i].empty() && texts[i].starts_with(contexts[i]))
          texts[i] = texts[i].substr(contexts[i].size());
      }
      metrics = essence_metrics_json(samples, texts, e);
      metrics["generation_seconds"] = seconds;
      write_json((std::filesystem::path(folder) / "essence.json").string(), essence_records(rows, texts, e));
      if (!a.quiet) std::cerr << a.baseline << " essence: " << metrics["essence"]["mean"] << "\n";
    } else {
      PreparedBenchmark b = prepare_benchmark(benchmark, samples, options);
      b.scoring.allow_missing_entity = true;  // the unedited LM edits nothing
      if (a.baseline == "prefix") {
        for (data::MediationSample& row : b.rows) row.prompt = data::prompt_in_context(row);
      }
      const TargetScores scores = score_targets(model, tokenizer, nullptr, b.rows, b.scoring);
      const eval::EfficacyMetrics m = group_efficacy(scores, b.owner, samples.size(), b.keeps_true);
      metrics = {{"score", aggregate_json(m.score)},
                 {"magnitude", aggregate_json(m.magnitude)},
                 {"prompts", b.rows.size()}};
      write_json((std::filesystem::path(folder) / (benchmark + ".json")).string(),
                 records_json(tokenizer, b.rows, scores, nullptr));
      if (!a.quiet) std::cerr << a.baseline << " " << benchmark << ": score " << m.score.mean << "\n";
    }
    metrics["samples"] = samples.size();
    if (a.baseline == "replace") metrics["samples_without_replacement"] = dropped;
    write_json((std::filesystem::path(folder) / (benchmark + "_metrics.json")).string(), metrics);
    summary[benchmark] = metrics;
  }
  std::cout << nlohmann::json({{"experiment", experiment}, {"baseline", a.baseline}, {"benchmarks", summary}})
                   .dump(2)
            << "\n";
}

// METHOD §8.15: the layer whose harmonic mean of paraphrase efficacy, generation consistency and
// fluency (raw bits, as the original) is highest; the first such layer on a tie.
nlohmann::json select_layer(const std::vector<std::int64_t>& layers, const nlohmann::json& summary) {
  nlohmann::json scores = nlohmann::json::object();
  double best = -1.0;
  std::int64_t best_layer = -1;
  for (const std::int64_t layer : layers) {
    const nlohmann::json& m = summary.at(std::to_string(layer));
    const double score = eval::harmonic_mean({m.at("paraphrase").at("score").at("mean").get<double>(),
                                              m.at("generation").at("consistency").at("mean").get<double>(),
                                              m.at("generation").at("fluency").at("mean").get<double>()});
    scores[std::to_string(layer)] = score;
    if (score > best) {
      best = score;
      best_layer = layer;
    }
  }
  return {
      {"rule", "harmonic mean of paraphrase score, generation consistency and fluency (docs/METHOD.md 8.15)"},
      {"scores", scores},
      {"best_layer", best_layer}};
}

void run(const EvalArgs& a) {
  for (const std::string& b : a.benchmarks) {
    if (std::find(kBenchmarks.begin(), kBenchmarks.end(), b) == kBenchmarks.end()) {
      throw Error(
          "<argument>", "--benchmarks",
          "'" + b +
              "' is not implemented (available: efficacy, paraphrase, neighborhood, generation, essence)");
    }
  }
  if (!a.baseline.empty()) {
    if (a.baseline != "prefix" && a.baseline != "replace")
      throw Error("<argument>", "--baseline", "'" + a.baseline + "' is not one of prefix, replace");
    if (!a.layers.empty() || !a.editors.empty())
      throw Error("<argument>", "--baseline",
                  "runs the unedited LM: --layers and --editors-dir must be absent");
  }
  if (a.max_length < 2) throw Error("<argument>", "--max-length", "must be at least 2");
  const std::vector<data::MediationSample> samples = load_eval_samples(a);
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  ScoringOptions options;
  options.batch_size = a.batch_size;
  options.progress = !a.quiet;
  const bool generation =
      std::find(a.benchmarks.begin(), a.benchmarks.end(), "generation") != a.benchmarks.end();
  // Every CounterFact row: the replace baseline's entities and the consistency references.
  std::vector<data::MediationSample> pool;
  if (a.baseline == "replace" || generation) {
    SampleSource everything = a.data;
    everything.split.clear();
    pool = load_samples(everything);
  }
  const SubjectIndex index(pool);
  if (!a.baseline.empty()) {
    write_args_file(experiment, args_json(a));
    run_baseline(a, *model, tokenizer, samples, index, experiment, options);
    return;
  }
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  const std::vector<std::int64_t>& layers = loaded.layers;
  const std::vector<std::shared_ptr<Editor>>& editors = loaded.editors;
  write_args_file(experiment, args_json(a));
  // METHOD §8.14: a (layer, benchmark) whose metrics file exists was run before; its numbers are read
  // back for the summary and the layer selection, and the unedited work of a benchmark every layer
  // has done is skipped too.
  nlohmann::json summary = nlohmann::json::object();
  const auto metrics_path = [&](std::int64_t layer, const std::string& benchmark) {
    return (std::filesystem::path(editor_folder(experiment, a.type, layer)) / (benchmark + "_metrics.json"))
        .string();
  };
  std::set<std::pair<std::int64_t, std::string>> finished;
  for (const std::int64_t layer : layers) {
    for (const std::string& benchmark : a.benchmarks) {
      nlohmann::json earlier = finished_metrics(metrics_path(layer, benchmark));
      if (earlier.is_null()) continue;
      summary[std::to_string(layer)][benchmark] = std::move(earlier);
      finished.insert({layer, benchmark});
    }
  }
  const auto pending = [&](const std::string& benchmark) {
    return std::any_of(layers.begin(), layers.end(), [&](std::int64_t layer) {
      return finished.count({layer, benchmark}) == 0;
    });
  };
  const auto requested = [&](const std::string& benchmark) {
    return std::find(a.benchmarks.begin(), a.benchmarks.end(), benchmark) != a.benchmarks.end();
  };
  // The unedited scores and generations do not depend on the layer: computed once per benchmark.
  std::vector<PreparedBenchmark> benchmarks;
  std::vector<TargetScores> unedited_scores;
  std::optional<GenerationSetup> g;
  std::vector<std::string> unedited_texts;
  if (generation && pending("generation")) {
    g = prepare_generation(a, samples, index, *model, tokenizer, experiment);
    unedited_texts = generate_texts(*model, tokenizer, nullptr, g->rows, g->options);
  }
  std::optional<EssenceSetup> essence;
  if (requested("essence") && pending("essence"))
    essence = prepare_essence(samples, *model, tokenizer, generation_options(a), experiment);
  for (const std::string& benchmark : a.benchmarks) {
    if (benchmark == "generation" || benchmark == "essence" || !pending(benchmark)) continue;
    benchmarks.push_back(prepare_benchmark(benchmark, samples, options));
    unedited_scores.push_back(
        score_targets(*model, tokenizer, nullptr, benchmarks.back().rows, benchmarks.back().scoring));
  }
  for (std::size_t e = 0; e < editors.size(); ++e) {
    const std::int64_t layer = layers[e];
    const std::string folder = editor_folder(experiment, a.type, layer);
    const auto done = [&](const std::string& benchmark) { return finished.count({layer, benchmark}) > 0; };
    for (std::size_t i = 0; i < benchmarks.size(); ++i) {
      const PreparedBenchmark& b = benchmarks[i];
      if (done(b.name)) continue;
      const TargetScores& before = unedited_scores[i];
      const TargetScores after = score_targets(*model, tokenizer, editors[e].get(), b.rows, b.scoring);
      const eval::EfficacyMetrics edited = group_efficacy(after, b.owner, samples.size(), b.keeps_true);
      const eval::EfficacyMetrics unedited = group_efficacy(before, b.owner, samples.size(), b.keeps_true);
      const nlohmann::json metrics = {
          {"score", aggregate_json(edited.score)},
          {"magnitude", aggregate_json(edited.magnitude)},
          {"unedited",
           {{"score", aggregate_json(unedited.score)}, {"magnitude", aggregate_json(unedited.magnitude)}}},
          {"samples", samples.size()},
          {"prompts", b.rows.size()}};
      write_json((std::filesystem::path(folder) / (b.name + ".json")).string(),
                 records_json(tokenizer, b.rows, before, &after));
      write_json((std::filesystem::path(folder) / (b.name + "_metrics.json")).string(), metrics);
      summary[std::to_string(layer)][b.name] = metrics;
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " " << b.name << ": score " << edited.score.mean
                  << " (unedited " << unedited.score.mean << "), magnitude " << edited.magnitude.mean << "\n";
      }
    }
    if (g && !done("generation")) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<std::string> texts =
          generate_texts(*model, tokenizer, editors[e].get(), g->rows, g->options);
      const double seconds = seconds_since(start);
      const GenerationMetrics edited = generation_metrics(texts, g->owner, g->refs);
      nlohmann::json metrics = generation_metrics_json(edited);
      metrics["unedited"] = generation_metrics_json(generation_metrics(unedited_texts, g->owner, g->refs));
      metrics["samples"] = samples.size();
      metrics["prompts"] = g->rows.size();
      metrics["samples_without_references"] = g->refs.without_references;
      metrics["references_file"] = std::filesystem::path(g->refs.file).filename().string();
      metrics["generation_seconds"] = seconds;
      write_json((std::filesystem::path(folder) / "generation.json").string(),
                 generation_records(g->rows, unedited_texts, &texts));
      write_json((std::filesystem::path(folder) / "generation_metrics.json").string(), metrics);
      summary[std::to_string(layer)]["generation"] = metrics;
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " generation: fluency " << edited.fluency.mean
                  << ", consistency " << edited.consistency.mean << " (" << seconds << " s)\n";
      }
    }
    if (essence && !done("essence")) {
      const auto start = std::chrono::steady_clock::now();
      const std::vector<data::MediationSample> rows = essence_rows(samples);
      std::vector<std::string> texts =
          generate_texts(*model, tokenizer, editors[e].get(), rows, generation_options(a));
      const double seconds = seconds_since(start);
      for (std::string& text : texts) text = cut_wikipedia_prefix(text);
      nlohmann::json metrics = essence_metrics_json(samples, texts, *essence);
      metrics["generation_seconds"] = seconds;
      write_json((std::filesystem::path(folder) / "essence.json").string(),
                 essence_records(rows, texts, *essence));
      write_json((std::filesystem::path(folder) / "essence_metrics.json").string(), metrics);
      summary[std::to_string(layer)]["essence"] = metrics;
      if (!a.quiet) {
        std::cerr << a.type << "/" << layer << " essence: " << metrics["essence"]["mean"] << " (" << seconds
                  << " s)\n";
      }
    }
  }
  nlohmann::json out = {{"experiment", experiment}, {"type", a.type}, {"layers", summary}};
  if (requested("generation") && requested("paraphrase")) {
    out["layer_selection"] = select_layer(layers, summary);
    write_json((std::filesystem::path(experiment) / a.type / "layer_selection.json").string(),
               out["layer_selection"]);
  }
  std::cout << out.dump(2) << "\n";
}

}  // namespace

void register_eval_fact_gen(CLI::App& app, const std::string& name) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      name, "CounterFact editing benchmarks: efficacy, paraphrase, neighborhood, generation, essence");
  add_eval_options(*cmd, *a);
  cmd->add_option("-b,--benchmarks", a->benchmarks, "efficacy, paraphrase, neighborhood, generation, essence")
      ->capture_default_str();
  cmd->add_option("--baseline", a->baseline,
                  "prefix (context before the prompt) or replace (another subject with the new object), "
                  "with the unedited LM; no --layers or --editors-dir");
  cmd->add_option("--max-length", a->max_length,
                  "Generation: total tokens per row including the left-padded prompt (docs/METHOD.md Q12)")
      ->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
