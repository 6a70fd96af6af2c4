#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "util/error.h"

namespace remedi {

AtomicOutputFile::AtomicOutputFile(std::string path)
    : path_(std::move(path)), temp_path_(path_ + ".tmp.XXXXXX") {
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
