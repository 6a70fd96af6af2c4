// One error type for every bad input: it names the file, the field and what is wrong, so the CLI
// can print exactly one line and exit with code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace remedi {

class Error : public std::runtime_error {
 public:
  // `file` is the path (or "<argument>" for command-line values), `field` the key, tensor name,
  // byte offset or option that is wrong (may be empty), `reason` what is wrong with it.
  Error(std::string file, std::string field, std::string reason);

  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  std::string field_;
  std::string reason_;
};

// Exit code used for every bad-input error.
inline constexpr int kBadInputExitCode = 2;

}  // namespace remedi
