#include "test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace remedi::test {

namespace fs = std::filesystem;

std::string data_path(const std::string& relative) {
  const std::string root = REMEDI_DATA_DIR;
  return root + "/" + relative;
}

std::string fixture(const std::string& relative) {
  // Appended in place: GCC 12 warns (-Warray-bounds, a known false positive) on
  // std::string(literal) + "/" once the precompiled libtorch header changes what it inlines.
  std::string path = REMEDI_FIXTURES;
  path += '/';
  path += relative;
  return path;
}

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

CommandResult run_program(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
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
    std::vector<std::string> copies = argv;
    std::vector<char*> args;
    for (auto& a : copies) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  CommandResult result;
  int status = 0;
  if (timeout.count() <= 0) {
    ::waitpid(pid, &status, 0);
  } else {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        result.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  fs::remove_all(dir);
  return result;
}

CommandResult run_remedi(const std::vector<std::string>& args) {
  std::vector<std::string> argv{remedi_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv);
}

std::size_t count_occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

void expect_one_line_error(const CommandResult& r, const std::string& part) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

}  // namespace remedi::test
