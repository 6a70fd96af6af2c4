#include "data/counterfact.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "data/sentences.h"
#include "data/text.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::data {

namespace {

// Artifacts of the paraphrase generator, in the order the cleaning removes them.
constexpr std::string_view kParaphraseArtifacts[] = {" (b. ", "(tr. ", "(min. "};

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Step 5: a sentence break that cut through the entity is undone. Returns nullopt when more than
// one break qualifies (the original asserts there).
std::optional<std::vector<std::string>> rejoin_sentences_on_entity(const std::string& entity,
                                                                   std::vector<std::string> sentences) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i + 1 < sentences.size(); ++i) {
    const std::string& left = sentences[i];
    const std::string& right = sentences[i + 1];
    const bool split_inside = !contains(left, entity) && !contains(right, entity) &&
                              contains(std::string(left).append(" ").append(right), entity);
    if (split_inside || ends_with(left, entity)) candidates.push_back(i);
  }
  if (candidates.empty()) return sentences;
  if (candidates.size() > 1) return std::nullopt;
  const std::size_t index = candidates[0];
  sentences[index] += " " + sentences[index + 1];
  sentences.erase(sentences.begin() + static_cast<std::ptrdiff_t>(index) + 1);
  return sentences;
}

const Json& require(const Json& object, const char* key, const std::string& file, const std::string& where) {
  if (!object.is_object()) throw Error(file, where, "expected a JSON object");
  const auto found = object.find(key);
  if (found == object.end()) throw Error(file, where + "." + key, "missing");
  return *found;
}

std::string require_string(const Json& object, const char* key, const std::string& file,
                           const std::string& where) {
  const Json& value = require(object, key, file, where);
  if (!value.is_string()) throw Error(file, where + "." + key, "expected a string, got " + value.dump());
  // A blank subject, target or prompt would be trained on as if it were text.
  if (strip_whitespace(value.get<std::string>()).empty()) throw Error(file, where + "." + key, "is empty");
  return value.get<std::string>();
}

std::int64_t require_case_id(const Json& record, const std::string& file, const std::string& where) {
  const Json& value = require(record, "case_id", file, where);
  if (!value.is_number_integer())
    throw Error(file, where + ".case_id", "expected an integer, got " + value.dump());
  return value.get<std::int64_t>();
}

bool is_easyedit_record(const Json& record) {
  return record.is_object() && record.contains("rephrase_prompt");
}

std::vector<Json> records_in_file(const std::string& path) {
  Json document = read_json_file<Json>(path);
  if (!document.is_array()) throw Error(path, "", "expected a JSON array of CounterFact records");
  std::vector<Json> records;
  records.reserve(document.size());
  for (std::size_t i = 0; i < document.size(); ++i) {
    const std::string where = "[" + std::to_string(i) + "]";
    records.push_back(is_easyedit_record(document[i]) ? rome_record_from_easyedit(document[i], path, where)
                                                      : std::move(document[i]));
  }
  return records;
}

}  // namespace

std::string attribute_after_entity(const std::string& context, const std::string& entity) {
  return strip_chars(text_after_last(context, entity), ",-;: ");
}

std::string strip_paraphrase_junk(const std::string& entity, const std::string& paraphrase) {
  // 1. Only the last line.
  std::string prompt = strip_whitespace(text_after_last(paraphrase, "\n"));
  // 2. A Wikipedia category title in front: start again at the last mention of the entity.
  if (prompt.starts_with("Category:")) prompt = entity + text_after_last(prompt, entity);
  // 3. Generator artifacts: keep what follows the last one.
  for (const std::string_view artifact : kParaphraseArtifacts) {
    if (contains(prompt, artifact)) prompt = text_after_last(prompt, artifact);
  }
  return prompt;
}

std::optional<std::string> clean_paraphrase_sentences(const std::string& entity, const std::string& prompt,
                                                      std::vector<std::string> segmented) {
  // 5. A break inside the entity undone.
  const std::optional<std::vector<std::string>> rejoined =
      rejoin_sentences_on_entity(entity, std::move(segmented));
  if (!rejoined || rejoined->empty()) return std::nullopt;
  std::vector<std::string> sentences = *rejoined;
  // 6. Which sentences to keep.
  if (sentences.size() <= 2) {
    if (!contains(sentences[0], entity)) {
      if (sentences.size() != 2) return std::nullopt;
      sentences = {sentences[1]};
    }
  } else if (contains(sentences[sentences.size() - 2], "?")) {
    sentences = {sentences[sentences.size() - 2], sentences.back()};
  } else {
    sentences = {sentences.back()};
  }
  // 7. Joined with single spaces.
  std::string stripped;
  for (const std::string& sentence : sentences) stripped += (stripped.empty() ? "" : " ") + sentence;
  stripped = strip_whitespace(stripped);
  // 8. A period left over means a missed sentence break, unless the entity has one itself.
  if (contains(stripped, ".") && !contains(entity, "."))
    stripped = strip_whitespace(text_after_last(stripped, "."));
  // 9. Cleaning lost the entity: fall back to the step-3 string.
  return contains(stripped, entity) ? stripped : prompt;
}

std::string clean_paraphrase_prompt(const std::string& entity, const std::string& paraphrase) {
  const std::string prompt = strip_paraphrase_junk(entity, paraphrase);
  return clean_paraphrase_sentences(entity, prompt, split_sentences(prompt)).value_or(prompt);
}

MediationSample convert_counterfact_record(const Json& record, const std::string& file,
                                           const std::string& where) {
  const std::int64_t case_id = require_case_id(record, file, where);
  const Json& rewrite = require(record, "requested_rewrite", file, where);
  const std::string rewrite_where = where + ".requested_rewrite";
  const std::string subject = require_string(rewrite, "subject", file, rewrite_where);
  const std::string target_new = require_string(require(rewrite, "target_new", file, rewrite_where), "str",
                                                file, rewrite_where + ".target_new");
  const std::string target_true = require_string(require(rewrite, "target_true", file, rewrite_where), "str",
                                                 file, rewrite_where + ".target_true");
  const std::string rewrite_template = require_string(rewrite, "prompt", file, rewrite_where);
  const std::size_t slot = rewrite_template.find("{}");
  if (slot == std::string::npos)
    throw Error(file, rewrite_where + ".prompt", "has no {} slot for the subject");
  if (subject.empty()) throw Error(file, rewrite_where + ".subject", "is empty");

  const Json& paraphrases = require(record, "paraphrase_prompts", file, where);
  if (!paraphrases.is_array() || paraphrases.empty() || !paraphrases[0].is_string()) {
    throw Error(file, where + ".paraphrase_prompts", "expected a non-empty array of strings");
  }

  MediationSample sample;
  sample.id = std::to_string(case_id);
  sample.entity = subject;
  sample.context =
      rewrite_template.substr(0, slot) + subject + rewrite_template.substr(slot + 2) + " " + target_new;
  sample.attribute = attribute_after_entity(sample.context, subject);
  sample.prompt = clean_paraphrase_prompt(subject, paraphrases[0].get<std::string>());
  sample.target_mediated = target_new;
  sample.target_unmediated = target_true;
  sample.source = record;
  return sample;
}

Json rome_record_from_easyedit(const Json& record, const std::string& file, const std::string& where) {
  const std::int64_t case_id = require_case_id(record, file, where);
  const std::string subject = require_string(record, "subject", file, where);
  const std::string prompt = require_string(record, "prompt", file, where);
  const std::size_t found = subject.empty() ? std::string::npos : prompt.find(subject);
  if (found == std::string::npos)
    throw Error(file, where + ".prompt", "does not contain the subject \"" + subject + "\"");
  const std::string rewrite_template = prompt.substr(0, found) + "{}" + prompt.substr(found + subject.size());

  Json rewrite;
  rewrite["prompt"] = rewrite_template;
  rewrite["subject"] = subject;
  rewrite["target_new"] = {{"str", require_string(record, "target_new", file, where)}};
  rewrite["target_true"] = {{"str", require_string(record, "ground_truth", file, where)}};
  Json rebuilt;
  rebuilt["case_id"] = case_id;
  rebuilt["requested_rewrite"] = rewrite;
  rebuilt["paraphrase_prompts"] = Json::array({require_string(record, "rephrase_prompt", file, where)});
  rebuilt["neighborhood_prompts"] = Json::array();
  if (record.contains("locality_prompt")) {
    rebuilt["neighborhood_prompts"].push_back(require_string(record, "locality_prompt", file, where));
  }
  return rebuilt;
}

std::vector<MediationSample> load_counterfact(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<Json> records;
  std::vector<std::string> record_files;  // for error messages
  if (fs::is_directory(path)) {
    for (const char* split : {"train", "edit", "val"}) {
      const std::string file = (fs::path(path) / ("counterfact-" + std::string(split) + ".json")).string();
      if (!fs::exists(file))
        throw Error(file, "", "missing (a CounterFact folder holds counterfact-{train,edit,val}.json)");
      for (Json& record : records_in_file(file)) {
        records.push_back(std::move(record));
        record_files.push_back(file);
      }
    }
    std::vector<std::size_t> order(records.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return records[a]["case_id"].get<std::int64_t>() < records[b]["case_id"].get<std::int64_t>();
    });
    std::vector<MediationSample> samples;
    samples.reserve(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::size_t k = order[i];
      if (i > 0 && records[k]["case_id"] == records[order[i - 1]]["case_id"]) {
        throw Error(record_files[k], "case_id " + records[k]["case_id"].dump(),
                    "appears in more than one split file");
      }
      samples.push_back(
          convert_counterfact_record(records[k], record_files[k], "case_id " + records[k]["case_id"].dump()));
    }
    return samples;
  }
  records = records_in_file(path);
  std::vector<MediationSample> samples;
  samples.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    samples.push_back(convert_counterfact_record(records[i], path, "[" + std::to_string(i) + "]"));
  }
  return samples;
}

}  // namespace remedi::data
