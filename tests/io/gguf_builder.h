// Builds GGUF bytes field by field, so tests can write well-formed files and break one field at a
// time. Layout per ggml docs/gguf.md: magic, version, tensor count, kv count, key-values, tensor
// infos (name, n_dims, ne[], type, offset), padding to the alignment, data.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace remedi::test {

class GgufBuilder {
 public:
  std::string magic = "GGUF";
  std::uint32_t version = 3;
  std::uint64_t alignment = 32;  // used for padding; add general.alignment yourself to change it
  // When set, written instead of the real counts.
  std::int64_t tensor_count_override = -1;
  std::int64_t kv_count_override = -1;

  template <typename T>
  static std::string pod(T value) {
    std::string bytes(sizeof(T), '\0');
    std::memcpy(bytes.data(), &value, sizeof(T));
    return bytes;
  }
  static std::string str(const std::string& text) { return pod<std::uint64_t>(text.size()) + text; }

  // A key-value with an already encoded value.
  void add_kv(const std::string& key, std::uint32_t type, const std::string& encoded_value) {
    kvs_ += str(key) + pod(type) + encoded_value;
    ++kv_count_;
  }
  void add_u32(const std::string& key, std::uint32_t value) { add_kv(key, 4, pod(value)); }
  void add_string(const std::string& key, const std::string& value) { add_kv(key, 8, str(value)); }

  // `ne` innermost first, as stored; `offset` relative to the data section.
  void add_tensor(const std::string& name, const std::vector<std::uint64_t>& ne, std::uint32_t ggml_type,
                  std::uint64_t offset) {
    infos_ += str(name) + pod<std::uint32_t>(static_cast<std::uint32_t>(ne.size()));
    for (const std::uint64_t dim : ne) infos_ += pod(dim);
    infos_ += pod(ggml_type) + pod(offset);
    ++tensor_count_;
  }

  std::string data;  // the data section

  std::string build() const {
    std::string bytes = magic + pod(version);
    bytes += pod<std::uint64_t>(tensor_count_override >= 0 ? static_cast<std::uint64_t>(tensor_count_override)
                                                           : tensor_count_);
    bytes += pod<std::uint64_t>(kv_count_override >= 0 ? static_cast<std::uint64_t>(kv_count_override)
                                                       : kv_count_);
    bytes += kvs_ + infos_;
    if (tensor_count_ > 0) bytes.append((alignment - bytes.size() % alignment) % alignment, '\0');
    return bytes + data;
  }

 private:
  std::string kvs_;
  std::string infos_;
  std::uint64_t kv_count_ = 0;
  std::uint64_t tensor_count_ = 0;
};

}  // namespace remedi::test
