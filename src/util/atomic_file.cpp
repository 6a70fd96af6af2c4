#include "util/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "util/error.h"

namespace remedi {

namespace {

// The pid in a temporary file's name, <name>.tmp.<pid>.<6 characters from mkstemp>; 0 if it is not one.
pid_t writer_of(std::string_view name) {
  constexpr std::string_view kMarker = ".tmp.";
  constexpr std::size_t kRandom = 6;
  if (name.size() < kRandom + 1 || name[name.size() - kRandom - 1] != '.') return 0;
  const std::string_view head = name.substr(0, name.size() - kRandom - 1);  // <name>.tmp.<pid>
  const std::size_t marker = head.rfind(kMarker);
  if (marker == std::string_view::npos) return 0;
  const std::string_view digits = head.substr(marker + kMarker.size());
  pid_t pid = 0;
  const auto [next, parsed] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return parsed == std::errc() && next == digits.data() + digits.size() && pid > 0 ? pid : 0;
}

// Removes the temporary files in `target`'s folder left by writers that no longer run (whose pid
// names no process): a killed writer of this target, or of any other file written here (an args file
// is named by its time, so no later writer has its name). Best effort: what cannot be listed or
// removed stays.
void remove_dead_writers_temps(const std::string& target) noexcept {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(target);
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const pid_t pid = writer_of(it->path().filename().string());
    if (pid > 0 && ::kill(pid, 0) == -1 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

}  // namespace

void create_folders(const std::string& path) {
  if (path.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) throw Error(path, "", "cannot create the folder: " + error.message());
}

AtomicOutputFile::AtomicOutputFile(std::string path)
    : path_(std::move(path)), temp_path_(path_ + ".tmp." + std::to_string(::getpid()) + ".XXXXXX") {
  remove_dead_writers_temps(path_);
  fd_ = ::mkstemp(temp_path_.data());
  if (fd_ < 0) throw Error(path_, "", std::string("cannot create a temporary file: ") + std::strerror(errno));
  // mkstemp creates 0600; give the result the permissions an ordinary new file would get.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

AtomicOutputFile::~AtomicOutputFile() { abandon(); }

void AtomicOutputFile::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) throw Error(path_, "", "write after commit");
  const std::byte* next = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_, next, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      abandon();
      throw Error(path_, "", std::string("write failed: ") + std::strerror(err));
    }
    next += written;
    left -= static_cast<std::size_t>(written);
  }
}

void AtomicOutputFile::write(std::string_view text) {
  write(std::as_bytes(std::span(text.data(), text.size())));
}

void AtomicOutputFile::commit() {
  if (fd_ < 0) throw Error(path_, "", "commit after commit");
  if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0) {
    const int err = errno;
    abandon();
    throw Error(path_, "", std::string("cannot flush: ") + std::strerror(err));
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    abandon();
    throw Error(path_, "", std::string("cannot rename the temporary file into place: ") + std::strerror(err));
  }
  temp_path_.clear();
}

void AtomicOutputFile::abandon() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

}  // namespace remedi
