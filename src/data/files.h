// Whole-file reads and atomic writes for the data converters.
#pragma once

#include <string>

namespace remedi::data {

// The whole file; throws remedi::Error(path, "", ...) if it cannot be read.
std::string read_text_file(const std::string& path);

// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
// failure never leaves a partial file and readers never see one.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace remedi::data
