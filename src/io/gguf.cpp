#include "io/gguf.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "util/error.h"

namespace remedi::io {

namespace {

constexpr std::uint32_t kMaxDims = 4;
// Nested arrays are legal but nothing real nests deeply; a cap keeps hostile files from recursing
// the parser off the stack.
constexpr int kMaxArrayDepth = 8;
// Smallest possible encodings, used to reject counts that cannot fit in the rest of the file
// before allocating anything for them.
constexpr std::uint64_t kMinKeyValueBytes = 8 + 4 + 1;            // empty key, type, u8 value
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, one dim

// GGML type ids (ggml.h enum ggml_type) of the storage types we can read and write.
constexpr std::array<std::pair<std::uint32_t, DType>, 16> kGgmlTypes = {{
    {0, DType::F32},
    {1, DType::F16},
    {2, DType::Q4_0},
    {3, DType::Q4_1},
    {6, DType::Q5_0},
    {7, DType::Q5_1},
    {8, DType::Q8_0},
    {12, DType::Q4_K},
    {13, DType::Q5_K},
    {14, DType::Q6_K},
    {24, DType::I8},
    {25, DType::I16},
    {26, DType::I32},
    {27, DType::I64},
    {28, DType::F64},
    {30, DType::BF16},
}};

// Bounds-checked little-endian reader over the mapped header.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  std::uint64_t offset() const { return offset_; }
  std::uint64_t remaining() const { return bytes_.size() - offset_; }

  template <typename T>
  T read(const std::string& field) {
    need(sizeof(T), field);
    T value{};
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  std::string read_string(const std::string& field) {
    const auto length = read<std::uint64_t>(field);
    need(length, field);
    std::string text(reinterpret_cast<const char*>(bytes_.data() + offset_),
                     static_cast<std::size_t>(length));
    offset_ += length;
    return text;
  }

  void need(std::uint64_t count, const std::string& field) const {
    if (count > remaining()) {
      throw Error(path_, field,
                  "truncated: needs " + std::to_string(count) + " bytes at offset " +
                      std::to_string(offset_) + ", file has " + std::to_string(bytes_.size()));
    }
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& path_;
  std::uint64_t offset_ = 0;
};

GgufValue::Type read_value_type(Cursor& cursor, const std::string& path, const std::string& key) {
  const auto raw = cursor.read<std::uint32_t>(key);
  if (raw > static_cast<std::uint32_t>(GgufValue::Type::F64)) {
    throw Error(path, key, "unknown value type " + std::to_string(raw));
  }
  return static_cast<GgufValue::Type>(raw);
}

std::uint64_t min_encoded_size(GgufValue::Type type) {
  switch (type) {
    case GgufValue::Type::U8:
    case GgufValue::Type::I8:
    case GgufValue::Type::BOOL:
      return 1;
    case GgufValue::Type::U16:
    case GgufValue::Type::I16:
      return 2;
    case GgufValue::Type::U32:
    case GgufValue::Type::I32:
    case GgufValue::Type::F32:
      return 4;
    case GgufValue::Type::STRING:
    case GgufValue::Type::U64:
    case GgufValue::Type::I64:
    case GgufValue::Type::F64:
      return 8;
    case GgufValue::Type::ARRAY:
      return 4 + 8;
  }
  return 1;
}

GgufValue read_value(Cursor& cursor, GgufValue::Type type, const std::string& path, const std::string& key,
                     int depth) {
  GgufValue result;
  result.type = type;
  switch (type) {
    case GgufValue::Type::U8:
      result.value = std::uint64_t{cursor.read<std::uint8_t>(key)};
      break;
    case GgufValue::Type::I8:
      result.value = std::int64_t{cursor.read<std::int8_t>(key)};
      break;
    case GgufValue::Type::U16:
      result.value = std::uint64_t{cursor.read<std::uint16_t>(key)};
      break;
    case GgufValue::Type::I16:
      result.value = std::int64_t{cursor.read<std::int16_t>(key)};
      break;
    case GgufValue::Type::U32:
      result.value = std::uint64_t{cursor.read<std::uint32_t>(key)};
      break;
    case GgufValue::Type::I32:
      result.value = std::int64_t{cursor.read<std::int32_t>(key)};
      break;
    case GgufValue::Type::U64:
      result.value = cursor.read<std::uint64_t>(key);
      break;
    case GgufValue::Type::I64:
      result.value = cursor.read<std::int64_t>(key);
      break;
    case GgufValue::Type::F32:
      result.value = double{cursor.read<float>(key)};
      break;
    case GgufValue::Type::F64:
      result.value = cursor.read<double>(key);
      break;
    case GgufValue::Type::BOOL: {
      const auto raw = cursor.read<std::uint8_t>(key);
      if (raw > 1) throw Error(path, key, "bool value " + std::to_string(raw) + " is neither 0 nor 1");
      result.value = raw == 1;
      break;
    }
    case GgufValue::Type::STRING:
      result.value = cursor.read_string(key);
      break;
    case GgufValue::Type::ARRAY: {
      if (depth >= kMaxArrayDepth) {
        throw Error(path, key, "arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
      }
      result.array_type = read_value_type(cursor, path, key);
      const auto count = cursor.read<std::uint64_t>(key);
      if (count > cursor.remaining() / min_encoded_size(result.array_type)) {
        throw Error(path, key,
                    "array of " + std::to_string(count) + " " +
                        std::string(gguf_value_type_name(result.array_type)) + " values cannot fit in the " +
                        std::to_string(cursor.remaining()) + " bytes left");
      }
      auto elements = std::make_shared<GgufArray>();
      elements->reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) {
        elements->push_back(read_value(cursor, result.array_type, path, key, depth + 1));
      }
      result.value = std::move(elements);
      break;
    }
  }
  return result;
}

std::uint64_t align_up(std::uint64_t offset, std::uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

std::string kind_of(const GgufValue& value) {
  if (value.type == GgufValue::Type::ARRAY) {
    return "array of " + std::string(gguf_value_type_name(value.array_type));
  }
  return std::string(gguf_value_type_name(value.type));
}

std::optional<std::int64_t> as_int(const GgufValue& value) {
  if (const auto* u = std::get_if<std::uint64_t>(&value.value)) {
    if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&value.value)) return *i;
  return std::nullopt;
}

std::optional<double> as_float(const GgufValue& value) {
  if (const auto* d = std::get_if<double>(&value.value)) return *d;
  if (const auto* u = std::get_if<std::uint64_t>(&value.value)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<std::int64_t>(&value.value)) return static_cast<double>(*i);
  return std::nullopt;
}

const GgufArray& array_elements(const GgufValue& value) {
  return *std::get<std::shared_ptr<GgufArray>>(value.value);
}

std::string format_number(double value, GgufValue::Type type) {
  std::array<char, 64> buffer{};
  // F32 values print as the shortest text that round-trips the f32, not the widened double.
  const auto result =
      type == GgufValue::Type::F32
          ? std::to_chars(buffer.data(), buffer.data() + buffer.size(), static_cast<float>(value))
          : std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return {buffer.data(), result.ptr};
}

std::string quote(const std::string& text) {
  constexpr std::size_t kMaxShown = 120;
  std::string quoted = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const char c = text[i];
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted += "\\x";
      constexpr std::string_view kHex = "0123456789abcdef";
      quoted += kHex[static_cast<unsigned char>(c) >> 4];
      quoted += kHex[static_cast<unsigned char>(c) & 0x0F];
    } else {
      quoted += c;
    }
  }
  quoted += '"';
  if (text.size() > kMaxShown) quoted += "... (" + std::to_string(text.size()) + " bytes)";
  return quoted;
}

}  // namespace

std::optional<DType> dtype_from_ggml_type(std::uint32_t ggml_type) {
  for (const auto& [id, dtype] : kGgmlTypes) {
    if (id == ggml_type) return dtype;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> ggml_type_of(DType dtype) {
  for (const auto& [id, known] : kGgmlTypes) {
    if (known == dtype) return id;
  }
  return std::nullopt;
}

std::string_view gguf_value_type_name(GgufValue::Type type) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  return kNames.at(static_cast<std::size_t>(type));
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile gguf{MappedFile(path)};
  const std::span<const std::byte> bytes = gguf.file_.bytes();
  Cursor cursor(bytes, path);

  if (bytes.size() < 4 || std::memcmp(bytes.data(), "GGUF", 4) != 0) {
    throw Error(path, "magic", "not a GGUF file (the first 4 bytes are not 'GGUF')");
  }
  cursor.read<std::uint32_t>("magic");
  gguf.version_ = cursor.read<std::uint32_t>("version");
  if (gguf.version_ != 2 && gguf.version_ != 3) {
    const bool byte_swapped = (gguf.version_ & 0xFFFFU) == 0 && gguf.version_ != 0;
    throw Error(path, "version",
                byte_swapped
                    ? std::string("big-endian GGUF is not supported")
                    : "unsupported GGUF version " + std::to_string(gguf.version_) + " (supported: 2, 3)");
  }
  const auto tensor_count = cursor.read<std::uint64_t>("tensor_count");
  const auto kv_count = cursor.read<std::uint64_t>("metadata_kv_count");
  if (tensor_count > cursor.remaining() / kMinTensorInfoBytes) {
    throw Error(path, "tensor_count",
                std::to_string(tensor_count) + " tensors cannot fit in a file of " +
                    std::to_string(bytes.size()) + " bytes");
  }
  if (kv_count > cursor.remaining() / kMinKeyValueBytes) {
    throw Error(path, "metadata_kv_count",
                std::to_string(kv_count) + " key-value pairs cannot fit in a file of " +
                    std::to_string(bytes.size()) + " bytes");
  }

  for (std::uint64_t i = 0; i < kv_count; ++i) {
    const std::string key = cursor.read_string("metadata[" + std::to_string(i) + "].key");
    const GgufValue::Type type = read_value_type(cursor, path, key);
    GgufValue value = read_value(cursor, type, path, key, 0);
    if (!gguf.metadata_.emplace(key, std::move(value)).second) {
      throw Error(path, key, "duplicate metadata key");
    }
  }

  if (gguf.has("general.alignment")) {
    const std::int64_t alignment = gguf.get_int("general.alignment");
    if (alignment <= 0 || (alignment & (alignment - 1)) != 0 ||
        alignment > std::numeric_limits<std::uint32_t>::max()) {
      throw Error(path, "general.alignment", "must be a power of two, got " + std::to_string(alignment));
    }
    gguf.alignment_ = static_cast<std::uint64_t>(alignment);
  }

  // Tensor infos: name, n_dims, ne[n_dims] (innermost first), ggml type, offset into the data section.
  struct RawTensor {
    TensorView view;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  std::vector<RawTensor> raw_tensors;
  raw_tensors.reserve(static_cast<std::size_t>(tensor_count));
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    RawTensor raw;
    raw.view.name = cursor.read_string("tensor[" + std::to_string(i) + "].name");
    const std::string& name = raw.view.name;
    if (gguf.index_.count(name) != 0) throw Error(path, name, "duplicate tensor name");
    gguf.index_.emplace(name, i);
    const auto n_dims = cursor.read<std::uint32_t>(name);
    if (n_dims < 1 || n_dims > kMaxDims) {
      throw Error(path, name,
                  "n_dims " + std::to_string(n_dims) + " is outside 1.." + std::to_string(kMaxDims));
    }
    std::vector<std::int64_t> ne(n_dims);
    std::int64_t numel = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto dim = cursor.read<std::uint64_t>(name);
      if (dim == 0) throw Error(path, name, "dimension " + std::to_string(d) + " is 0");
      if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / numel)) {
        throw Error(path, name, "element count overflows");
      }
      ne[d] = static_cast<std::int64_t>(dim);
      numel *= ne[d];
    }
    const auto ggml_type = cursor.read<std::uint32_t>(name);
    const auto dtype = dtype_from_ggml_type(ggml_type);
    if (!dtype) throw Error(path, name, "unsupported tensor type " + std::to_string(ggml_type));
    raw.view.dtype = *dtype;
    const std::int64_t block = dtype_block_elements(*dtype);
    if (ne[0] % block != 0) {
      throw Error(path, name,
                  "innermost dimension " + std::to_string(ne[0]) + " is not a multiple of the " +
                      std::string(dtype_name(*dtype)) + " block size " + std::to_string(block));
    }
    const auto size = dtype_storage_bytes(*dtype, numel);
    if (!size) throw Error(path, name, "byte size overflows");
    raw.size = *size;
    raw.view.shape.assign(ne.rbegin(), ne.rend());
    raw.offset = cursor.read<std::uint64_t>(name);
    if (raw.offset % gguf.alignment_ != 0) {
      throw Error(path, name,
                  "data offset " + std::to_string(raw.offset) + " is not a multiple of the alignment " +
                      std::to_string(gguf.alignment_));
    }
    raw_tensors.push_back(std::move(raw));
  }

  const std::uint64_t data_start = align_up(cursor.offset(), gguf.alignment_);
  const std::uint64_t data_size = data_start <= bytes.size() ? bytes.size() - data_start : 0;
  if (tensor_count > 0 && data_start > bytes.size()) {
    throw Error(path, "data",
                "data section starts at " + std::to_string(data_start) + ", past the end of the file (" +
                    std::to_string(bytes.size()) + " bytes)");
  }
  for (auto& raw : raw_tensors) {
    if (raw.offset > data_size || raw.size > data_size - raw.offset) {
      throw Error(path, raw.view.name,
                  std::to_string(raw.size) + " bytes at data offset " + std::to_string(raw.offset) +
                      " run past the end of the data section (" + std::to_string(data_size) + " bytes)");
    }
    raw.view.bytes =
        bytes.subspan(static_cast<std::size_t>(data_start + raw.offset), static_cast<std::size_t>(raw.size));
  }
  std::vector<const RawTensor*> by_offset;
  by_offset.reserve(raw_tensors.size());
  for (const auto& raw : raw_tensors) by_offset.push_back(&raw);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const RawTensor* a, const RawTensor* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const RawTensor& before = *by_offset[i - 1];
    if (by_offset[i]->offset < before.offset + before.size) {
      throw Error(path, by_offset[i]->view.name, "data overlaps tensor '" + before.view.name + "'");
    }
  }

  gguf.tensors_.reserve(raw_tensors.size());
  for (auto& raw : raw_tensors) gguf.tensors_.push_back(std::move(raw.view));
  return gguf;
}

const GgufValue& GgufFile::get(const std::string& key) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end()) throw Error(path(), key, "missing metadata key");
  return it->second;
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& value = get(key);
  if (const auto* text = std::get_if<std::string>(&value.value)) return *text;
  throw Error(path(), key, "expected a string, found " + kind_of(value));
}

std::int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue& value = get(key);
  if (const auto number = as_int(value)) return *number;
  if (std::holds_alternative<std::uint64_t>(value.value)) {
    throw Error(path(), key,
                "value " + std::to_string(std::get<std::uint64_t>(value.value)) + " is too large");
  }
  throw Error(path(), key, "expected an integer, found " + kind_of(value));
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& value = get(key);
  if (const auto number = as_float(value)) return *number;
  throw Error(path(), key, "expected a number, found " + kind_of(value));
}

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& value = get(key);
  if (const auto* flag = std::get_if<bool>(&value.value)) return *flag;
  throw Error(path(), key, "expected a bool, found " + kind_of(value));
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& value = get(key);
  if (value.type != GgufValue::Type::ARRAY || value.array_type != GgufValue::Type::STRING) {
    throw Error(path(), key, "expected an array of string, found " + kind_of(value));
  }
  std::vector<std::string> result;
  result.reserve(array_elements(value).size());
  for (const auto& element : array_elements(value)) result.push_back(std::get<std::string>(element.value));
  return result;
}

std::vector<std::int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue& value = get(key);
  const auto t = value.array_type;
  const bool integers = t != GgufValue::Type::F32 && t != GgufValue::Type::F64 &&
                        t != GgufValue::Type::BOOL && t != GgufValue::Type::STRING &&
                        t != GgufValue::Type::ARRAY;
  if (value.type != GgufValue::Type::ARRAY || !integers) {
    throw Error(path(), key, "expected an array of integers, found " + kind_of(value));
  }
  std::vector<std::int64_t> result;
  result.reserve(array_elements(value).size());
  for (const auto& element : array_elements(value)) {
    const auto number = as_int(element);
    if (!number) throw Error(path(), key, "array element is too large");
    result.push_back(*number);
  }
  return result;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue& value = get(key);
  const auto t = value.array_type;
  const bool numbers =
      t != GgufValue::Type::BOOL && t != GgufValue::Type::STRING && t != GgufValue::Type::ARRAY;
  if (value.type != GgufValue::Type::ARRAY || !numbers) {
    throw Error(path(), key, "expected an array of numbers, found " + kind_of(value));
  }
  std::vector<double> result;
  result.reserve(array_elements(value).size());
  for (const auto& element : array_elements(value)) result.push_back(*as_float(element));
  return result;
}

const TensorView* GgufFile::find_tensor(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& GgufFile::tensor(const std::string& name) const {
  if (const TensorView* view = find_tensor(name)) return *view;
  throw Error(path(), name, "no such tensor");
}

std::string to_display_string(const GgufValue& value, std::size_t max_items) {
  switch (value.type) {
    case GgufValue::Type::U8:
    case GgufValue::Type::U16:
    case GgufValue::Type::U32:
    case GgufValue::Type::U64:
      return std::to_string(std::get<std::uint64_t>(value.value));
    case GgufValue::Type::I8:
    case GgufValue::Type::I16:
    case GgufValue::Type::I32:
    case GgufValue::Type::I64:
      return std::to_string(std::get<std::int64_t>(value.value));
    case GgufValue::Type::F32:
    case GgufValue::Type::F64:
      return format_number(std::get<double>(value.value), value.type);
    case GgufValue::Type::BOOL:
      return std::get<bool>(value.value) ? "true" : "false";
    case GgufValue::Type::STRING:
      return quote(std::get<std::string>(value.value));
    case GgufValue::Type::ARRAY: {
      const GgufArray& elements = array_elements(value);
      std::string text = "[";
      for (std::size_t i = 0; i < elements.size() && i < max_items; ++i) {
        if (i > 0) text += ", ";
        text += to_display_string(elements[i], max_items);
      }
      if (elements.size() > max_items) text += ", ... (" + std::to_string(elements.size()) + " items)";
      return text + "]";
    }
  }
  return {};
}

}  // namespace remedi::io
