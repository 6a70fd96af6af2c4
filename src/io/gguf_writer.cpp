#include "io/gguf_writer.h"

#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string_view>
#include <variant>

#include "util/atomic_file.h"
#include "util/error.h"

namespace remedi::io {

namespace {

// The reader refuses arrays nested deeper than this (io/gguf.cpp); refuse to write them too.
constexpr int kMaxArrayDepth = 8;
constexpr std::size_t kMaxDims = 4;
constexpr std::uint64_t kDefaultAlignment = 32;

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_string(std::string& out, std::string_view text) {
  put<std::uint64_t>(out, text.size());
  out.append(text);
}

std::uint64_t align_up(std::uint64_t offset, std::uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

class ValueEncoder {
 public:
  ValueEncoder(std::string& out, const std::string& path, const std::string& key)
      : out_(out), path_(path), key_(key) {}

  void encode(const GgufValue& value, int depth) {
    using Type = GgufValue::Type;
    switch (value.type) {
      case Type::U8:
        put(out_, static_cast<std::uint8_t>(unsigned_value(value, std::numeric_limits<std::uint8_t>::max())));
        return;
      case Type::U16:
        put(out_,
            static_cast<std::uint16_t>(unsigned_value(value, std::numeric_limits<std::uint16_t>::max())));
        return;
      case Type::U32:
        put(out_,
            static_cast<std::uint32_t>(unsigned_value(value, std::numeric_limits<std::uint32_t>::max())));
        return;
      case Type::U64:
        put(out_, unsigned_value(value, std::numeric_limits<std::uint64_t>::max()));
        return;
      case Type::I8:
        put(out_, static_cast<std::int8_t>(signed_value<std::int8_t>(value)));
        return;
      case Type::I16:
        put(out_, static_cast<std::int16_t>(signed_value<std::int16_t>(value)));
        return;
      case Type::I32:
        put(out_, static_cast<std::int32_t>(signed_value<std::int32_t>(value)));
        return;
      case Type::I64:
        put(out_, signed_value<std::int64_t>(value));
        return;
      case Type::F32:
        put(out_, static_cast<float>(held<double>(value)));
        return;
      case Type::F64:
        put(out_, held<double>(value));
        return;
      case Type::BOOL:
        put<std::uint8_t>(out_, held<bool>(value) ? 1 : 0);
        return;
      case Type::STRING:
        put_string(out_, held<std::string>(value));
        return;
      case Type::ARRAY: {
        if (depth >= kMaxArrayDepth) {
          fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
        }
        const auto& elements = held<std::shared_ptr<GgufArray>>(value);
        check_type(value.array_type);
        put(out_, static_cast<std::uint32_t>(value.array_type));
        const std::size_t count = elements ? elements->size() : 0;
        put<std::uint64_t>(out_, count);
        for (std::size_t i = 0; i < count; ++i) {
          const GgufValue& element = (*elements)[i];
          if (element.type != value.array_type) {
            fail("array element " + std::to_string(i) + " is " + type_name(element.type) +
                 " in an array of " + type_name(value.array_type));
          }
          encode(element, depth + 1);
        }
        return;
      }
    }
    fail("unknown value type " + std::to_string(static_cast<std::uint32_t>(value.type)));
  }

  void check_type(GgufValue::Type type) const {
    if (static_cast<std::uint32_t>(type) > static_cast<std::uint32_t>(GgufValue::Type::F64)) {
      fail("unknown value type " + std::to_string(static_cast<std::uint32_t>(type)));
    }
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const { throw Error(path_, key_, reason); }

  static std::string type_name(GgufValue::Type type) {
    if (static_cast<std::uint32_t>(type) > static_cast<std::uint32_t>(GgufValue::Type::F64)) {
      return "type " + std::to_string(static_cast<std::uint32_t>(type));
    }
    return std::string(gguf_value_type_name(type));
  }

  template <typename T>
  const T& held(const GgufValue& value) const {
    if (const T* held_value = std::get_if<T>(&value.value)) return *held_value;
    fail("a " + type_name(value.type) + " value holds the wrong kind of content");
  }

  std::uint64_t unsigned_value(const GgufValue& value, std::uint64_t max) const {
    const std::uint64_t number = held<std::uint64_t>(value);
    if (number > max) fail(std::to_string(number) + " does not fit in " + type_name(value.type));
    return number;
  }

  template <typename T>
  std::int64_t signed_value(const GgufValue& value) const {
    const std::int64_t number = held<std::int64_t>(value);
    if (number < std::numeric_limits<T>::min() || number > std::numeric_limits<T>::max()) {
      fail(std::to_string(number) + " does not fit in " + type_name(value.type));
    }
    return number;
  }

  std::string& out_;
  const std::string& path_;
  const std::string& key_;
};

std::uint64_t alignment_of(const std::string& path, const GgufMetadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (key != "general.alignment") continue;
    std::uint64_t alignment = 0;
    std::string shown;
    if (const auto* u = std::get_if<std::uint64_t>(&value.value)) {
      alignment = *u;
      shown = std::to_string(*u);
    } else if (const auto* i = std::get_if<std::int64_t>(&value.value)) {
      alignment = *i > 0 ? static_cast<std::uint64_t>(*i) : 0;
      shown = std::to_string(*i);
    } else {
      throw Error(path, key, "must be an integer");
    }
    if (alignment == 0 || (alignment & (alignment - 1)) != 0 ||
        alignment > std::numeric_limits<std::uint32_t>::max()) {
      throw Error(path, key, "must be a power of two below 2^32, got " + shown);
    }
    return alignment;
  }
  return kDefaultAlignment;
}

}  // namespace

void write_gguf(const std::string& path, const GgufMetadata& metadata,
                const std::vector<GgufTensorToWrite>& tensors) {
  const std::uint64_t alignment = alignment_of(path, metadata);

  std::string header = "GGUF";
  put<std::uint32_t>(header, 3);
  put<std::uint64_t>(header, tensors.size());
  put<std::uint64_t>(header, metadata.size());

  std::set<std::string> keys;
  for (const auto& [key, value] : metadata) {
    if (!keys.insert(key).second) throw Error(path, key, "duplicate metadata key");
    put_string(header, key);
    ValueEncoder encoder(header, path, key);
    encoder.check_type(value.type);
    put(header, static_cast<std::uint32_t>(value.type));
    encoder.encode(value, 0);
  }

  std::set<std::string> names;
  std::vector<std::uint64_t> sizes;
  sizes.reserve(tensors.size());
  std::uint64_t offset = 0;
  for (const GgufTensorToWrite& tensor : tensors) {
    const std::string& name = tensor.name;
    if (!names.insert(name).second) throw Error(path, name, "duplicate tensor name");
    if (tensor.shape.empty() || tensor.shape.size() > kMaxDims) {
      throw Error(path, name,
                  "has " + std::to_string(tensor.shape.size()) + " dims; GGUF holds 1 to " +
                      std::to_string(kMaxDims));
    }
    const auto ggml_type = ggml_type_of(tensor.dtype);
    if (!ggml_type) throw Error(path, name, "GGUF cannot hold " + std::string(dtype_name(tensor.dtype)));
    std::int64_t numel = 1;
    for (const std::int64_t dim : tensor.shape) {
      if (dim <= 0) throw Error(path, name, "dimension " + std::to_string(dim) + " is not positive");
      if (dim > std::numeric_limits<std::int64_t>::max() / numel) {
        throw Error(path, name, "element count overflows");
      }
      numel *= dim;
    }
    const std::int64_t block = dtype_block_elements(tensor.dtype);
    if (tensor.shape.back() % block != 0) {
      throw Error(path, name,
                  "innermost dimension " + std::to_string(tensor.shape.back()) +
                      " is not a multiple of the " + std::string(dtype_name(tensor.dtype)) + " block size " +
                      std::to_string(block));
    }
    const auto size = dtype_storage_bytes(tensor.dtype, numel);
    if (!size) throw Error(path, name, "byte size overflows");
    if (!tensor.fill && tensor.data.size() != *size) {
      throw Error(path, name,
                  "has " + std::to_string(tensor.data.size()) + " bytes, " +
                      std::string(dtype_name(tensor.dtype)) + " of this shape needs " +
                      std::to_string(*size));
    }
    put_string(header, name);
    put<std::uint32_t>(header, static_cast<std::uint32_t>(tensor.shape.size()));
    for (auto dim = tensor.shape.rbegin(); dim != tensor.shape.rend(); ++dim) {
      put<std::uint64_t>(header, static_cast<std::uint64_t>(*dim));
    }
    put<std::uint32_t>(header, *ggml_type);
    put<std::uint64_t>(header, offset);
    sizes.push_back(*size);
    offset = align_up(offset + *size, alignment);
  }
  header.append(align_up(header.size(), alignment) - header.size(), '\0');

  AtomicOutputFile out(path);
  out.write(header);
  const std::string padding(alignment, '\0');
  std::vector<std::byte> buffer;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensorToWrite& tensor = tensors[i];
    if (tensor.fill) {
      buffer.assign(static_cast<std::size_t>(sizes[i]), std::byte{0});
      tensor.fill(std::span<std::byte>(buffer));
      out.write(std::span<const std::byte>(buffer));
    } else {
      out.write(tensor.data);
    }
    out.write(std::string_view(padding.data(), align_up(sizes[i], alignment) - sizes[i]));
  }
  out.commit();
}

}  // namespace remedi::io
