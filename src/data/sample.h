// The context-mediation sample every data set is converted into (METHOD §3.1), and its file format:
// JSON Lines, one object per line, keys in the order below. The reader also accepts the original
// release's files, whose objects are written back to back without separators (METHOD Q20).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace remedi::data {

// Key order is kept so a converted record reads like its source (fields in file order).
using Json = nlohmann::ordered_json;

// clang-tidy cannot see that ordered_json's implicit move is noexcept.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct MediationSample {
  std::string id;
  std::string entity;           // whose representation is edited
  std::string attribute;        // the attribute statement, a substring of `context`
  std::string context;          // a sentence asserting the attribute about the entity
  std::string prompt;           // mentions the entity; its continuation should reflect the attribute
  std::string target_mediated;  // what the edited LM should say
  std::optional<std::string> target_unmediated;  // what the LM says without the edit (CounterFact only)
  Json source;                                   // the raw record it came from
};

Json sample_to_json(const MediationSample& sample);
// `file` and `where` (e.g. "record 12 (line 13)") name the record in errors.
MediationSample sample_from_json(const Json& record, const std::string& file, const std::string& where);

// Reads a converted data set: JSON Lines, or JSON objects written back to back (METHOD Q20); any
// whitespace may separate the objects. Throws remedi::Error naming the record and its line.
std::vector<MediationSample> read_samples(const std::string& path);
std::vector<MediationSample> parse_samples(const std::string& text, const std::string& file);

// One JSON object per line (UTF-8, "\n" after each).
std::string samples_to_jsonl(const std::vector<MediationSample>& samples);
// Writes samples_to_jsonl() atomically: readers see the old file or the complete new one.
void write_samples(const std::string& path, const std::vector<MediationSample>& samples);

}  // namespace remedi::data
