// GGUF (v2 and v3) reader: metadata of every type, tensor directory, zero-copy tensor views. The
// writer is in io/gguf_writer.h.
// Format: github.com/ggml-org/ggml docs/gguf.md. All validation happens in open(), before any tensor
// byte is read: magic, version, counts and string lengths vs file size, known value and tensor
// types, offsets aligned and in range, byte size = shape x dtype, no two tensors overlapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/tensor_view.h"
#include "util/mapped_file.h"

namespace remedi::io {

struct GgufValue;
using GgufArray = std::vector<GgufValue>;

// One metadata value. Integer types keep their width/sign through `type`.
struct GgufValue {
  enum class Type : std::uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
  };
  Type type = Type::U8;
  // U8..U64 -> uint64_t, I8..I64 -> int64_t, F32/F64 -> double, BOOL -> bool, STRING -> string,
  // ARRAY -> shared_ptr to the elements (all of one type, `array_type`).
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> value;
  Type array_type = Type::U8;  // element type when type == ARRAY
};

class GgufFile {
 public:
  // Maps and validates the whole file; throws remedi::Error(path, field, reason) on any problem.
  static GgufFile open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return metadata_.count(key) != 0; }
  // Typed getters: throw remedi::Error(path, key, ...) when missing or of another kind. Integer
  // getters accept any integer type whose value fits.
  const GgufValue& get(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // accepts F32/F64 and integers
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<std::int64_t> get_int_array(const std::string& key) const;
  std::vector<double> get_float_array(const std::string& key) const;

  // Tensors in file order; views point into the mapping (valid while this object lives).
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find_tensor(const std::string& name) const;  // nullptr if absent
  const TensorView& tensor(const std::string& name) const;       // throws if absent

 private:
  explicit GgufFile(MappedFile file) : file_(std::move(file)) {}

  MappedFile file_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t> index_;
};

// GGML tensor type ids (ggml.h enum ggml_type) of the storage types remedi reads and writes; nullopt
// for ids it does not know and for U8/BOOL, which GGUF cannot hold.
std::optional<DType> dtype_from_ggml_type(std::uint32_t ggml_type);
std::optional<std::uint32_t> ggml_type_of(DType dtype);

// "u8", "i8", ..., "string", "array", "f64": the name of a metadata value type, for messages.
std::string_view gguf_value_type_name(GgufValue::Type type);

// Human-readable rendering of a value (arrays abbreviated after `max_items`), for `remedi inspect`.
std::string to_display_string(const GgufValue& value, std::size_t max_items = 8);

}  // namespace remedi::io
