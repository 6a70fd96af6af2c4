// GGUF writer: what it writes reads back through GgufFile::open (every metadata type, arrays,
// tensors of several types, the alignment), a real file survives a read-write-read round trip, and
// bad input is refused without leaving a file behind.
#include "io/gguf_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/gguf.h"
#include "test_support.h"

namespace remedi::io {
namespace {

using Type = GgufValue::Type;

GgufValue value_of(Type type, decltype(GgufValue::value) value) {
  GgufValue result;
  result.type = type;
  result.value = std::move(value);
  return result;
}

GgufValue array_of(Type element_type, std::vector<GgufValue> elements) {
  GgufValue result;
  result.type = Type::ARRAY;
  result.array_type = element_type;
  result.value = std::make_shared<GgufArray>(std::move(elements));
  return result;
}

GgufValue string_value(const std::string& text) { return value_of(Type::STRING, text); }

// Same type, same array element type, same content (arrays compared element by element).
bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  if (a.type != Type::ARRAY) return a.value == b.value;
  if (a.array_type != b.array_type) return false;
  const GgufArray& x = *std::get<std::shared_ptr<GgufArray>>(a.value);
  const GgufArray& y = *std::get<std::shared_ptr<GgufArray>>(b.value);
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!same_value(x[i], y[i])) return false;
  }
  return true;
}

std::span<const std::byte> bytes_of(const std::vector<float>& values) {
  return std::as_bytes(std::span<const float>(values));
}

std::vector<float> floats_of(const TensorView& view) {
  std::vector<float> values(static_cast<std::size_t>(view.numel()));
  std::memcpy(values.data(), view.bytes.data(), view.bytes.size());
  return values;
}

class GgufWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("gguf-writer-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // No file at all in the folder (no output, no leftover temporary).
  bool folder_is_empty() const { return std::filesystem::is_empty(dir_); }

  std::string dir_;
};

TEST_F(GgufWriterTest, EveryMetadataTypeAndTensorReadsBack) {
  const GgufMetadata metadata = {
      {"general.architecture", string_value("test")},
      {"general.alignment", value_of(Type::U32, std::uint64_t{64})},
      {"test.u8", value_of(Type::U8, std::uint64_t{200})},
      {"test.i8", value_of(Type::I8, std::int64_t{-100})},
      {"test.u16", value_of(Type::U16, std::uint64_t{60000})},
      {"test.i16", value_of(Type::I16, std::int64_t{-30000})},
      {"test.u32", value_of(Type::U32, std::uint64_t{4000000000U})},
      {"test.i32", value_of(Type::I32, std::int64_t{-2000000000})},
      {"test.u64", value_of(Type::U64, std::uint64_t{18000000000000000000U})},
      {"test.i64", value_of(Type::I64, std::int64_t{-9000000000000000000})},
      {"test.f32", value_of(Type::F32, static_cast<double>(0.1F))},  // exactly an f32
      {"test.f64", value_of(Type::F64, 0.1)},
      {"test.bool", value_of(Type::BOOL, true)},
      {"test.string", string_value("Café \"quoted\"\n")},
      {"test.empty_string", string_value("")},
      {"test.strings", array_of(Type::STRING, {string_value("a"), string_value(""), string_value("Ġthe")})},
      {"test.ints",
       array_of(Type::I32, {value_of(Type::I32, std::int64_t{-1}), value_of(Type::I32, std::int64_t{7})})},
      {"test.floats", array_of(Type::F32, {value_of(Type::F32, 1.5), value_of(Type::F32, -0.25)})},
      {"test.empty_array", array_of(Type::U8, {})},
      {"test.nested", array_of(Type::ARRAY, {array_of(Type::BOOL, {value_of(Type::BOOL, false)})})},
  };
  const std::vector<float> vector_values = {1, 2, 3};
  std::vector<float> matrix_values(6);
  for (std::size_t i = 0; i < matrix_values.size(); ++i) matrix_values[i] = static_cast<float>(i) - 2.5F;
  const std::vector<std::uint16_t> half_values = {0x3C00, 0xC000};  // 1, -2
  std::vector<GgufTensorToWrite> tensors(4);
  tensors[0] = {"a.vector", DType::F32, {3}, bytes_of(vector_values), {}};
  tensors[1] = {"b.matrix", DType::F32, {2, 3}, bytes_of(matrix_values), {}};
  tensors[2] = {"c.half", DType::F16, {2}, std::as_bytes(std::span<const std::uint16_t>(half_values)), {}};
  tensors[3] = {"d.filled", DType::F32, {2, 1, 2}, {}, [](std::span<std::byte> out) {
                  ASSERT_EQ(out.size(), 16U);
                  const std::vector<float> values = {4, 3, 2, 1};
                  std::memcpy(out.data(), values.data(), out.size());
                }};
  const std::string path = dir_ + "/model.gguf";
  write_gguf(path, metadata, tensors);

  const GgufFile gguf = GgufFile::open(path);
  EXPECT_EQ(gguf.version(), 3U);
  EXPECT_EQ(gguf.alignment(), 64U);
  ASSERT_EQ(gguf.metadata().size(), metadata.size());
  for (const auto& [key, value] : metadata) {
    ASSERT_TRUE(gguf.has(key)) << key;
    EXPECT_TRUE(same_value(gguf.get(key), value)) << key << " = " << to_display_string(gguf.get(key));
  }
  EXPECT_FLOAT_EQ(static_cast<float>(gguf.get_float("test.f32")), 0.1F);
  EXPECT_EQ(gguf.get_string_array("test.strings"), (std::vector<std::string>{"a", "", "Ġthe"}));

  ASSERT_EQ(gguf.tensors().size(), 4U);
  const std::vector<std::string> names = {"a.vector", "b.matrix", "c.half", "d.filled"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const TensorView& view = gguf.tensors()[i];
    EXPECT_EQ(view.name, names[i]);
    EXPECT_EQ(view.shape, tensors[i].shape) << view.name;
    EXPECT_EQ(view.dtype, tensors[i].dtype) << view.name;
    // The mapping starts on a page boundary, so data addresses show the offsets' alignment.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view.bytes.data()) % 64, 0U) << view.name;
  }
  EXPECT_EQ(floats_of(gguf.tensor("a.vector")), vector_values);
  EXPECT_EQ(floats_of(gguf.tensor("b.matrix")), matrix_values);
  std::vector<float> half(2);
  to_f32(gguf.tensor("c.half"), half, path);
  EXPECT_EQ(half, (std::vector<float>{1, -2}));
  EXPECT_EQ(floats_of(gguf.tensor("d.filled")), (std::vector<float>{4, 3, 2, 1}));
}

TEST_F(GgufWriterTest, DefaultAlignmentIs32) {
  const std::vector<float> small = {1};  // 4 bytes: the next tensor needs 28 bytes of padding
  const std::vector<float> other = {2, 3};
  std::vector<GgufTensorToWrite> tensors(2);
  tensors[0] = {"x", DType::F32, {1}, bytes_of(small), {}};
  tensors[1] = {"y", DType::F32, {2}, bytes_of(other), {}};
  const std::string path = dir_ + "/model.gguf";
  write_gguf(path, {{"general.architecture", string_value("test")}}, tensors);
  const GgufFile gguf = GgufFile::open(path);
  EXPECT_EQ(gguf.alignment(), 32U);
  EXPECT_FALSE(gguf.has("general.alignment"));
  const auto* x = gguf.tensor("x").bytes.data();
  const auto* y = gguf.tensor("y").bytes.data();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x) % 32, 0U);
  EXPECT_EQ(y - x, 32);
  EXPECT_EQ(floats_of(gguf.tensor("y")), other);
  EXPECT_EQ(std::filesystem::file_size(path) % 32, 0U);
}

TEST_F(GgufWriterTest, FixtureSurvivesReadWriteRead) {
  const std::string source_path = test::fixture("lm/llama_gqa/model-q8_0.gguf");
  const GgufFile source = GgufFile::open(source_path);
  GgufMetadata metadata(source.metadata().begin(), source.metadata().end());
  std::vector<GgufTensorToWrite> tensors;
  for (const TensorView& view : source.tensors())
    tensors.push_back({view.name, view.dtype, view.shape, view.bytes, {}});
  const std::string path = dir_ + "/copy.gguf";
  write_gguf(path, metadata, tensors);

  const GgufFile copy = GgufFile::open(path);
  ASSERT_EQ(copy.metadata().size(), source.metadata().size());
  for (const auto& [key, value] : source.metadata()) {
    ASSERT_TRUE(copy.has(key)) << key;
    EXPECT_TRUE(same_value(copy.get(key), value)) << key;
  }
  EXPECT_EQ(copy.get_string_array("tokenizer.ggml.tokens"), source.get_string_array("tokenizer.ggml.tokens"));
  ASSERT_EQ(copy.tensors().size(), source.tensors().size());
  for (std::size_t i = 0; i < source.tensors().size(); ++i) {
    const TensorView& a = source.tensors()[i];
    const TensorView& b = copy.tensors()[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.dtype, a.dtype) << a.name;
    EXPECT_EQ(b.shape, a.shape) << a.name;
    ASSERT_EQ(b.bytes.size(), a.bytes.size()) << a.name;
    EXPECT_EQ(std::memcmp(b.bytes.data(), a.bytes.data(), a.bytes.size()), 0) << a.name;
  }
}

TEST_F(GgufWriterTest, BadInputIsRefusedAndLeavesNoFile) {
  const std::string path = dir_ + "/model.gguf";
  const std::vector<float> three = {1, 2, 3};
  const GgufMetadata plain = {{"general.architecture", string_value("test")}};
  const auto one_tensor = [&](std::vector<std::int64_t> shape, DType dtype = DType::F32) {
    return std::vector<GgufTensorToWrite>{{"w", dtype, std::move(shape), bytes_of(three), {}}};
  };

  test::expect_error([&] { write_gguf(path, plain, one_tensor({4})); }, path, "w",
                     "has 12 bytes, F32 of this shape needs 16");
  test::expect_error([&] { write_gguf(path, plain, one_tensor({})); }, path, "w",
                     "has 0 dims; GGUF holds 1 to 4");
  test::expect_error(
      [&] {
        write_gguf(path, plain, one_tensor({1, 1, 1, 1, 3}));
      },
      path, "w", "has 5 dims; GGUF holds 1 to 4");
  test::expect_error(
      [&] {
        write_gguf(path, plain, one_tensor({0, 3}));
      },
      path, "w", "dimension 0 is not positive");
  test::expect_error([&] { write_gguf(path, plain, one_tensor({3}, DType::BOOL)); }, path, "w",
                     "GGUF cannot hold BOOL");
  test::expect_error([&] { write_gguf(path, plain, one_tensor({3}, DType::Q8_0)); }, path, "w",
                     "innermost dimension 3 is not a multiple of the Q8_0 block size 32");
  auto twice = one_tensor({3});
  twice.push_back(twice[0]);
  test::expect_error([&] { write_gguf(path, plain, twice); }, path, "w", "duplicate tensor name");

  const auto with = [&](const std::string& key, GgufValue value) {
    GgufMetadata metadata = plain;
    metadata.emplace_back(key, std::move(value));
    return metadata;
  };
  test::expect_error([&] { write_gguf(path, with("general.architecture", string_value("x")), {}); }, path,
                     "general.architecture", "duplicate metadata key");
  test::expect_error([&] { write_gguf(path, with("k", value_of(Type::U8, std::uint64_t{300})), {}); }, path,
                     "k", "300 does not fit in u8");
  test::expect_error([&] { write_gguf(path, with("k", value_of(Type::I8, std::int64_t{-129})), {}); }, path,
                     "k", "-129 does not fit in i8");
  test::expect_error([&] { write_gguf(path, with("k", value_of(Type::STRING, 1.0)), {}); }, path, "k",
                     "a string value holds the wrong kind of content");
  test::expect_error(
      [&] {
        write_gguf(
            path,
            with("k", array_of(Type::STRING, {string_value("a"), value_of(Type::I32, std::int64_t{1})})), {});
      },
      path, "k", "array element 1 is i32 in an array of string");
  test::expect_error(
      [&] {
        write_gguf(path, with("general.alignment", value_of(Type::U32, std::uint64_t{48})), one_tensor({3}));
      },
      path, "general.alignment", "must be a power of two below 2^32, got 48");
  test::expect_error(
      [&] { write_gguf(path, with("general.alignment", string_value("32")), one_tensor({3})); }, path,
      "general.alignment", "must be an integer");
  // A fill callback that throws half way: no file at the target, no temporary left over.
  std::vector<GgufTensorToWrite> failing(2);
  failing[0] = {"a", DType::F32, {3}, bytes_of(three), {}};
  failing[1] = {"b", DType::F32, {3}, {}, [&](std::span<std::byte>) { throw Error(path, "b", "no data"); }};
  test::expect_error([&] { write_gguf(path, plain, failing); }, path, "b", "no data");
  EXPECT_TRUE(folder_is_empty());
}

}  // namespace
}  // namespace remedi::io
