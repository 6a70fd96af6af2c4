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

// Removes the temporary files of `target` left by writers that no longer run: <target>.tmp.<pid>.*
// whose pid names no process. Best effort: a file that cannot be listed or removed stays.
void remove_dead_writers_temps(const std::string& target) noexcept {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(target);
  const std::string prefix = path.filename().string() + ".tmp.";
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    pid_t pid = 0;
    const auto [next, parsed] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (parsed != std::errc() || pid <= 0 || next == rest.data() + rest.size() || *next != '.') continue;
    if (::kill(pid, 0) == -1 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

}  // namespace

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
