#include "util/read_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace remedi {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "", std::string("cannot open: ") + std::strerror(errno));
  // Opening a folder succeeds and reading it yields nothing: say what is wrong instead.
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw Error(path, "", "is a directory, expected a file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path, "", "read failed");
  return buffer.str();
}

template <typename JsonType>
JsonType read_json_file(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return JsonType::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, "", std::string("not valid JSON: ") + e.what());
  }
}

template nlohmann::json read_json_file<nlohmann::json>(const std::string& path);
template nlohmann::ordered_json read_json_file<nlohmann::ordered_json>(const std::string& path);

}  // namespace remedi
