#include "data/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace remedi::data {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path, "", "read failed");
  return buffer.str();
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  std::string temp_path = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) throw Error(path, "", std::string("cannot create a temporary file: ") + std::strerror(errno));
  // mkstemp creates the file 0600; give it the permissions an ordinary new file would get.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  const char* next = contents.data();
  std::size_t left = contents.size();
  int failure = 0;
  while (left > 0 && failure == 0) {
    const ssize_t written = ::write(fd, next, left);
    if (written < 0 && errno != EINTR) failure = errno;
    if (written > 0) {
      next += written;
      left -= static_cast<std::size_t>(written);
    }
  }
  if (failure == 0 && ::fsync(fd) != 0) failure = errno;
  if (::close(fd) != 0 && failure == 0) failure = errno;
  if (failure == 0 && std::rename(temp_path.c_str(), path.c_str()) != 0) failure = errno;
  if (failure != 0) {
    ::unlink(temp_path.c_str());
    throw Error(path, "", std::string("cannot write: ") + std::strerror(failure));
  }
}

}  // namespace remedi::data
