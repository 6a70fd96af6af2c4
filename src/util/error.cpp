#include "util/error.h"

#include <utility>

namespace remedi {

namespace {
std::string format_message(const std::string& file, const std::string& field, const std::string& reason) {
  std::string message = file;
  if (!field.empty()) message += ": " + field;
  message += ": " + reason;
  // Keep the message on one line whatever the inputs hold.
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return message;
}
}  // namespace

Error::Error(std::string file, std::string field, std::string reason)
    : std::runtime_error(format_message(file, field, reason)),
      file_(std::move(file)),
      field_(std::move(field)),
      reason_(std::move(reason)) {}

}  // namespace remedi
