// Paths and helpers shared by the tests.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace remedi::test {

std::string data_path(const std::string& relative);  // <repository>/data/<relative>
std::string fixture(const std::string& relative);    // tests/fixtures/<relative>
std::string remedi_binary();
// The default SmolLM2 GGUF ($REMEDI_HOME or ~/.cache/remedi); empty string if not fetched.
std::string default_model_path();

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& contents);

// A fresh empty folder under the system temp dir, removed by the caller if wanted.
std::string temp_dir(const std::string& prefix);

struct CommandResult {
  int exit_code = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};
// Runs argv[0] (a path) with the arguments argv[1...] (no shell), stdout and stderr captured; killed
// after `timeout` when it is positive.
CommandResult run_program(const std::vector<std::string>& argv,
                          std::chrono::seconds timeout = std::chrono::seconds(0));
// Runs the remedi CLI with `args` (no shell interpretation of the arguments).
CommandResult run_remedi(const std::vector<std::string>& args);

// A bad-input run: exit code 2 and exactly one line on stderr, which contains `part` (gtest
// expectations).
void expect_one_line_error(const CommandResult& r, const std::string& part);

// The JSON document in `path` (throws when it is missing or malformed, failing the test).
nlohmann::json read_json(const std::string& path);

// How many times `part` occurs in `text`, without overlaps.
std::size_t count_occurrences(const std::string& text, const std::string& part);

}  // namespace remedi::test
