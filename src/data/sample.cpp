#include "data/sample.h"

#include <cstddef>

#include "data/text.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::data {

Json sample_to_json(const MediationSample& sample) {
  Json record;
  record["id"] = sample.id;
  record["entity"] = sample.entity;
  record["attribute"] = sample.attribute;
  record["context"] = sample.context;
  record["prompt"] = sample.prompt;
  record["target_mediated"] = sample.target_mediated;
  record["target_unmediated"] = sample.target_unmediated ? Json(*sample.target_unmediated) : Json(nullptr);
  record["source"] = sample.source;
  return record;
}

namespace {

std::string required_string(const Json& record, const char* key, const std::string& file,
                            const std::string& where) {
  const auto found = record.find(key);
  if (found == record.end()) throw Error(file, where + "." + key, "missing");
  if (!found->is_string()) throw Error(file, where + "." + key, "expected a string, got " + found->dump());
  // Every field of a mediation sample is text the model reads or predicts: blank is an error.
  if (strip_whitespace(found->get<std::string>()).empty()) throw Error(file, where + "." + key, "is empty");
  return found->get<std::string>();
}

// Index one past the JSON object that starts at `start` (a '{'), found by bracket matching outside
// strings; std::string::npos if the text ends first. The object itself is validated by the parser.
std::size_t end_of_object(const std::string& text, std::size_t start) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string::npos;
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

MediationSample sample_from_json(const Json& record, const std::string& file, const std::string& where) {
  if (!record.is_object()) throw Error(file, where, "expected a JSON object");
  MediationSample sample;
  sample.id = required_string(record, "id", file, where);
  sample.entity = required_string(record, "entity", file, where);
  sample.attribute = required_string(record, "attribute", file, where);
  sample.context = required_string(record, "context", file, where);
  sample.prompt = required_string(record, "prompt", file, where);
  sample.target_mediated = required_string(record, "target_mediated", file, where);
  const auto unmediated = record.find("target_unmediated");
  if (unmediated != record.end() && !unmediated->is_null()) {
    sample.target_unmediated = required_string(record, "target_unmediated", file, where);
  }
  const auto source = record.find("source");
  if (source != record.end()) sample.source = *source;
  return sample;
}

std::vector<MediationSample> parse_samples(const std::string& text, const std::string& file) {
  std::vector<MediationSample> samples;
  std::size_t pos = 0;
  std::size_t line = 1;
  while (true) {
    while (pos < text.size() && is_json_space(text[pos])) {
      if (text[pos] == '\n') ++line;
      ++pos;
    }
    if (pos == text.size()) break;
    const std::string where =
        "record " + std::to_string(samples.size()) + " (line " + std::to_string(line) + ")";
    if (text[pos] != '{') throw Error(file, where, "expected a JSON object starting with '{'");
    const std::size_t end = end_of_object(text, pos);
    if (end == std::string::npos)
      throw Error(file, where, "the JSON object is not closed before the end of the file");
    const std::string object_text = text.substr(pos, end - pos);
    Json record;
    try {
      record = Json::parse(object_text);
    } catch (const Json::exception& e) {  // a syntax error, or a number too large for a double
      throw Error(file, where, std::string("invalid JSON: ") + e.what());
    }
    samples.push_back(sample_from_json(record, file, where));
    for (std::size_t i = pos; i < end; ++i) line += text[i] == '\n' ? 1 : 0;
    pos = end;
  }
  return samples;
}

std::vector<MediationSample> read_samples(const std::string& path) {
  return parse_samples(read_text_file(path), path);
}

std::string samples_to_jsonl(const std::vector<MediationSample>& samples) {
  std::string out;
  for (const MediationSample& sample : samples) {
    try {
      out += sample_to_json(sample).dump(-1, ' ', false, Json::error_handler_t::strict);
    } catch (const Json::type_error& e) {
      throw Error("<sample " + sample.id + ">", "", std::string("cannot encode as JSON: ") + e.what());
    }
    out += '\n';
  }
  return out;
}

void write_samples(const std::string& path, const std::vector<MediationSample>& samples) {
  const std::string text = samples_to_jsonl(samples);  // a sample that cannot be encoded stops here
  AtomicOutputFile out(path);
  out.write(text);
  out.commit();
}

}  // namespace remedi::data
