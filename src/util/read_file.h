// Whole-file reads with the project's one-line errors: every reader of a text or JSON file goes
// through these, so a missing file or broken JSON reads the same whatever loads it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace remedi {

// The whole file, bytes as they are. Throws remedi::Error(path, "", "cannot open: <strerror>"),
// (..., "is a directory, expected a file") or (..., "read failed").
std::string read_text_file(const std::string& path);

// The whole file parsed as JSON (nlohmann::json, or nlohmann::ordered_json to keep the key order).
// Throws read_text_file's errors, or remedi::Error(path, "", "not valid JSON: <parser message>")
// (the parser's message gives the line and column).
template <typename JsonType = nlohmann::json>
JsonType read_json_file(const std::string& path);

extern template nlohmann::json read_json_file<nlohmann::json>(const std::string& path);
extern template nlohmann::ordered_json read_json_file<nlohmann::ordered_json>(const std::string& path);

}  // namespace remedi
