// Read-only memory map of a whole file. Tensor readers hand out pointers into it (zero-copy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace remedi {

class MappedFile {
 public:
  // Throws remedi::Error naming `path` if it cannot be opened or mapped. An empty file maps to an
  // empty span.
  explicit MappedFile(std::string path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& path() const { return path_; }
  std::size_t size() const { return size_; }
  const std::byte* data() const { return data_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  void release() noexcept;

  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace remedi
