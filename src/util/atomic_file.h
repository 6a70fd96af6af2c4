// Writes a file so that readers see either the old contents or the complete new ones: bytes go to
// a temporary file in the same folder, which commit() flushes and renames over the target. If the
// writer is destroyed without commit() (an exception, a bad value found half way), the temporary
// file is removed and the target is untouched. A writer killed before either (kill -9) leaves its
// temporary file, <target>.tmp.<pid>.<random>; the next writer in the same folder removes those
// whose process is gone.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace remedi {

class AtomicOutputFile {
 public:
  // Throws remedi::Error(path, "", ...) if the temporary file cannot be created.
  explicit AtomicOutputFile(std::string path);
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // Flushes to disk and renames into place; the object is done afterwards.
  void commit();

 private:
  void abandon() noexcept;

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
};

// Creates folder `path` and its missing parents (nothing when it exists). Throws remedi::Error(path,
// "", "cannot create the folder: <reason>") where the file system refuses (disk full, permissions, a
// file in the way), instead of std::filesystem's exception.
void create_folders(const std::string& path);

}  // namespace remedi
