#include "evaluate/fact_gen_references.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "data/derived.h"
#include "eval/fluency.h"
#include "eval/results_layout.h"
#include "evaluate/setup.h"
#include "remedi/editor_file.h"

namespace remedi::evaluate {

namespace {

// The JSON object in `path` when it exists, parses and holds `key` under "key"; otherwise null.
nlohmann::json read_cache(const std::string& path, const nlohmann::json& key) {
  if (!std::filesystem::exists(path)) return nullptr;
  std::ifstream in(path);
  nlohmann::json cached = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!cached.is_object() || cached.value("key", nlohmann::json()) != key) return nullptr;
  return cached;
}

// What the unedited texts depend on besides their prompts: the model and the sampling settings.
nlohmann::json sampling_key(const lm::LoadedModel& model, const GenerationOptions& options) {
  return {{"model", model_fingerprint(model.lm())},
          {"seed", options.seed},
          {"max_length", options.max_length},
          {"top_k", options.top_k},
          {"batch_size", options.batch_size}};
}

// A vectorizer fitted on `documents`, or none when no document has a word (a degenerate model): the
// similarities are then 0, as against empty references.
std::optional<eval::TfidfVectorizer> fit_or_none(const std::vector<std::string>& documents) {
  if (documents.empty()) return std::nullopt;
  try {
    return eval::TfidfVectorizer::fit(documents);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

}  // namespace

GenerationReferences build_references(const std::vector<data::MediationSample>& samples,
                                      const SubjectIndex& index, const lm::LoadedModel& model,
                                      const GenerationOptions& options, const std::string& folder) {
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
  // The subjects fix the batches too: a file written by an earlier run with the same key is reused.
  nlohmann::json subject_names = nlohmann::json::array();
  for (const auto& [name, subject] : subjects) subject_names.push_back(name);
  nlohmann::json key = sampling_key(model, options);
  key["subjects"] = subject_names;
  const std::string cache_path = eval::keyed_cache_file(folder, "generation_references", key.dump());
  std::vector<std::string> generated;
  if (const nlohmann::json cached = read_cache(cache_path, key); !cached.is_null()) {
    for (const auto& [name, subject] : subjects) generated.push_back(cached["subjects"][name]["text"]);
  }
  if (generated.empty()) {
    GenerationOptions reference_options = options;
    reference_options.label = "references";
    generated = generate_texts(model.lm(), model.tok(), nullptr, rows, reference_options);
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
  refs.vectorizer = fit_or_none(corpus);
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

nlohmann::json generation_metrics_json(const GenerationMetrics& metrics) {
  return {{"fluency", aggregate_json(metrics.fluency)}, {"consistency", aggregate_json(metrics.consistency)}};
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

EssenceReferences essence_references(const std::vector<data::MediationSample>& samples,
                                     const lm::LoadedModel& model, const GenerationOptions& options,
                                     const std::string& folder) {
  nlohmann::json ids = nlohmann::json::array();
  nlohmann::json entities = nlohmann::json::array();
  for (const data::MediationSample& s : samples) {
    ids.push_back(s.id);
    entities.push_back(s.entity);
  }
  nlohmann::json key = sampling_key(model, options);
  key["entities"] = entities;
  EssenceReferences e;
  e.file = eval::keyed_cache_file(folder, "essence_references", key.dump());
  std::vector<std::string> references;
  if (const nlohmann::json cached = read_cache(e.file, key); !cached.is_null()) {
    references = cached.at("references").get<std::vector<std::string>>();
  } else {
    GenerationOptions reference_options = options;
    reference_options.label = "essence references";
    references = generate_texts(model.lm(), model.tok(), nullptr, essence_rows(samples), reference_options);
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
  e.vectorizer = fit_or_none(references);
  return e;
}

nlohmann::json essence_metrics_json(const std::vector<data::MediationSample>& samples,
                                    const std::vector<std::string>& texts, const EssenceReferences& refs) {
  std::vector<double> essence;
  std::vector<double> fluency_generation;
  std::vector<double> fluency_references;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::string& reference = refs.reference_of.at(samples[i].id);
    essence.push_back(refs.vectorizer ? eval::tfidf_similarity(*refs.vectorizer, {texts[i]}, {reference})
                                      : 0.0);
    fluency_generation.push_back(eval::weighted_ngram_entropy(texts[i]));
    fluency_references.push_back(eval::weighted_ngram_entropy(reference));
  }
  const nlohmann::json generation = aggregate_json(eval::aggregate(fluency_generation, true));
  return {{"essence", aggregate_json(eval::aggregate(essence, true))},
          {"fluency_generation", generation},
          {"fluency_generaton", generation},  // the original's spelling (METHOD Q19), for its readers
          {"fluency_references", aggregate_json(eval::aggregate(fluency_references, true))},
          {"samples", samples.size()},
          {"references_file", std::filesystem::path(refs.file).filename().string()}};
}

nlohmann::json essence_records(const std::vector<data::MediationSample>& rows,
                               const std::vector<std::string>& texts, const EssenceReferences& refs) {
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    nlohmann::json record = data::sample_to_json(rows[i]);
    record["before_generations"] = {refs.reference_of.at(rows[i].id)};
    record["after_generations"] = {texts[i]};
    results.push_back(record);
  }
  return results;
}

}  // namespace remedi::evaluate
