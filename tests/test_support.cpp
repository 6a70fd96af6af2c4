#include "test_support.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace remedi::test {

namespace fs = std::filesystem;

std::string shared_data(const std::string& relative) {
  const char* env = std::getenv("REMEDI_SHARED_DATA");
  const std::string root = env != nullptr ? env : REMEDI_SHARED_DATA;
  return root + "/" + relative;
}

std::string fixture(const std::string& relative) { return std::string(REMEDI_FIXTURES) + "/" + relative; }

std::string remedi_binary() { return REMEDI_BINARY; }

std::string default_model_path() {
  std::string home;
  if (const char* env = std::getenv("REMEDI_HOME")) {
    home = env;
  } else if (const char* user_home = std::getenv("HOME")) {
    home = std::string(user_home) + "/.cache/remedi";
  }
  const std::string path = home + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  return fs::exists(path) ? path : "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string temp_dir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + ".XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

CommandResult run_remedi(const std::vector<std::string>& args) {
  const std::string dir = temp_dir("remedi-cli");
  const std::string out_path = dir + "/out";
  const std::string err_path = dir + "/err";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    std::vector<char*> argv;
    std::string binary = remedi_binary();
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (auto& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  fs::remove_all(dir);
  return result;
}

}  // namespace remedi::test
