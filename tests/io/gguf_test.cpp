// GGUF reader: the fixture written by the Python `gguf` package (tests/reference/make_gguf_fixtures.py)
// and one hand-built file per validation rule.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/expect_error.h"
#include "io/gguf_builder.h"
#include "test_support.h"

namespace remedi::io {
namespace {

using test::GgufBuilder;

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("gguf-test"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& bytes, const std::string& name = "model.gguf") {
    const std::string path = dir_ + "/" + name;
    test::write_file(path, bytes);
    return path;
  }

  // Expects open() of `bytes` to fail with exactly this field and reason.
  void expect_rejected(const std::string& bytes, const std::string& field, const std::string& reason) {
    const std::string path = write(bytes);
    test::expect_error([&] { GgufFile::open(path); }, path, field, reason);
  }

  std::string dir_;
};

// One valid F32 tensor of 4 values at data offset 0.
GgufBuilder one_tensor_file() {
  GgufBuilder builder;
  builder.add_string("general.architecture", "test");
  builder.add_tensor("w", {4}, 0, 0);
  builder.data = std::string(16, '\0');
  return builder;
}

TEST_F(GgufTest, ReadsEveryMetadataType) {
  const auto gguf = GgufFile::open(test::fixture("io/quants.gguf"));
  EXPECT_EQ(gguf.version(), 3U);
  EXPECT_EQ(gguf.alignment(), 64U);
  EXPECT_EQ(gguf.get_string("general.architecture"), "test");
  EXPECT_EQ(gguf.get("test.u8").type, GgufValue::Type::U8);
  EXPECT_EQ(gguf.get_int("test.u8"), 200);
  EXPECT_EQ(gguf.get("test.i8").type, GgufValue::Type::I8);
  EXPECT_EQ(gguf.get_int("test.i8"), -100);
  EXPECT_EQ(gguf.get_int("test.u16"), 60000);
  EXPECT_EQ(gguf.get_int("test.i16"), -30000);
  EXPECT_EQ(gguf.get_int("test.u32"), 4000000000);
  EXPECT_EQ(gguf.get_int("test.i32"), -2000000000);
  EXPECT_EQ(gguf.get("test.f32").type, GgufValue::Type::F32);
  EXPECT_EQ(gguf.get_float("test.f32"), static_cast<double>(0.1F));
  EXPECT_TRUE(gguf.get_bool("test.bool"));
  EXPECT_EQ(gguf.get_string("test.string"), "h\xC3\xA9llo\nworld");
  EXPECT_EQ(std::get<std::uint64_t>(gguf.get("test.u64").value), 18000000000000000000ULL);
  EXPECT_EQ(gguf.get_int("test.i64"), -9000000000000000000LL);
  EXPECT_EQ(gguf.get("test.f64").type, GgufValue::Type::F64);
  EXPECT_EQ(gguf.get_float("test.f64"), 2.718281828459045);
  EXPECT_EQ(gguf.get_float("test.u16"), 60000.0);  // integers widen
  EXPECT_EQ(gguf.get_string_array("test.strings"), (std::vector<std::string>{"a", "bc", ""}));
  EXPECT_EQ(gguf.get_float_array("test.floats"), (std::vector<double>{0.5, -1.25}));
  EXPECT_EQ(gguf.get("test.u64s").array_type, GgufValue::Type::U64);
  EXPECT_EQ(to_display_string(gguf.get("test.u64s")), "[1, 2, 18000000000000000000]");

  const GgufValue& nested = gguf.get("test.nested");
  ASSERT_EQ(nested.type, GgufValue::Type::ARRAY);
  EXPECT_EQ(nested.array_type, GgufValue::Type::ARRAY);
  const auto& rows = *std::get<std::shared_ptr<GgufArray>>(nested.value);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[1].array_type, GgufValue::Type::I32);
  EXPECT_EQ(std::get<std::shared_ptr<GgufArray>>(rows[1].value)->size(), 3U);
  EXPECT_EQ(to_display_string(nested), "[[1, 2], [3, 4, 5]]");
}

TEST_F(GgufTest, DisplayStrings) {
  const auto gguf = GgufFile::open(test::fixture("io/quants.gguf"));
  EXPECT_EQ(to_display_string(gguf.get("test.i8")), "-100");
  EXPECT_EQ(to_display_string(gguf.get("test.f32")), "0.1");  // shortest f32 text, not 0.10000000149
  EXPECT_EQ(to_display_string(gguf.get("test.f64")), "2.718281828459045");
  EXPECT_EQ(to_display_string(gguf.get("test.bool")), "true");
  EXPECT_EQ(to_display_string(gguf.get("test.string")), "\"h\xC3\xA9llo\\nworld\"");
  EXPECT_EQ(to_display_string(gguf.get("test.strings"), 2), "[\"a\", \"bc\", ... (3 items)]");
  GgufValue long_text;
  long_text.type = GgufValue::Type::STRING;
  long_text.value = std::string(200, 'x');
  EXPECT_EQ(to_display_string(long_text), "\"" + std::string(120, 'x') + "\"... (200 bytes)");
}

TEST_F(GgufTest, TypedGettersNameTheKey) {
  const auto gguf = GgufFile::open(test::fixture("io/quants.gguf"));
  const std::string path = gguf.path();
  test::expect_error([&] { gguf.get_int("test.absent"); }, path, "test.absent", "missing metadata key");
  test::expect_error([&] { gguf.get_string("test.u8"); }, path, "test.u8", "expected a string, found u8");
  test::expect_error([&] { gguf.get_int("test.u64"); }, path, "test.u64",
                     "value 18000000000000000000 is too large");
  test::expect_error([&] { gguf.get_int("test.f32"); }, path, "test.f32", "expected an integer, found f32");
  test::expect_error([&] { gguf.get_bool("test.i8"); }, path, "test.i8", "expected a bool, found i8");
  test::expect_error([&] { gguf.get_int_array("test.strings"); }, path, "test.strings",
                     "expected an array of integers, found array of string");
  test::expect_error([&] { gguf.get_string_array("test.nested"); }, path, "test.nested",
                     "expected an array of string, found array of array");
  test::expect_error([&] { gguf.tensor("absent"); }, path, "absent", "no such tensor");
  EXPECT_EQ(gguf.find_tensor("absent"), nullptr);
}

TEST_F(GgufTest, TensorsAreRowMajorAndDequantizeLikeThePythonPackage) {
  const auto gguf = GgufFile::open(test::fixture("io/quants.gguf"));
  const auto expected = nlohmann::json::parse(test::read_file(test::fixture("io/quants_expected.json")));
  ASSERT_EQ(gguf.tensors().size(), expected.size() + 1);  // + the i32 tensor
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    const TensorView& view = gguf.tensor(name);
    EXPECT_EQ(dtype_name(view.dtype), want["type"].get<std::string>());
    EXPECT_EQ(view.shape, want["shape"].get<std::vector<std::int64_t>>());
    const auto values = want["values"].get<std::vector<float>>();
    std::vector<float> got(static_cast<std::size_t>(view.numel()));
    to_f32(view, got, gguf.path());
    ASSERT_EQ(got.size(), values.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], values[i], 1e-6 * std::abs(values[i])) << "index " << i;
    }
    std::vector<std::uint16_t> rounded(got.size());
    to_bf16(view, rounded, gguf.path());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(rounded[i], f32_to_bf16(got[i])) << "index " << i;
  }
  const TensorView& ints = gguf.tensor("i32");
  EXPECT_EQ(ints.dtype, DType::I32);
  EXPECT_EQ(ints.shape, (std::vector<std::int64_t>{2, 3}));
  std::vector<std::int32_t> raw(6);
  std::memcpy(raw.data(), ints.bytes.data(), ints.bytes.size());
  EXPECT_EQ(raw, (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(GgufTest, VersionTwoHasTheSameLayout) {
  std::string bytes = test::read_file(test::fixture("io/quants.gguf"));
  bytes[4] = 2;
  const auto gguf = GgufFile::open(write(bytes));
  EXPECT_EQ(gguf.version(), 2U);
  EXPECT_EQ(gguf.tensor("q6_k").shape, (std::vector<std::int64_t>{2, 512}));
  EXPECT_EQ(gguf.get_int("test.u32"), 4000000000);
}

TEST_F(GgufTest, BuilderFileIsValid) {
  const auto gguf = GgufFile::open(write(one_tensor_file().build()));
  ASSERT_EQ(gguf.tensors().size(), 1U);
  EXPECT_EQ(gguf.tensor("w").bytes.size(), 16U);
}

TEST_F(GgufTest, RejectsBadMagicAndVersions) {
  expect_rejected("", "magic", "not a GGUF file (the first 4 bytes are not 'GGUF')");
  GgufBuilder builder = one_tensor_file();
  builder.magic = "GGML";
  expect_rejected(builder.build(), "magic", "not a GGUF file (the first 4 bytes are not 'GGUF')");
  builder = one_tensor_file();
  builder.version = 1;
  expect_rejected(builder.build(), "version", "unsupported GGUF version 1 (supported: 2, 3)");
  builder.version = 0x03000000;
  expect_rejected(builder.build(), "version", "big-endian GGUF is not supported");
}

TEST_F(GgufTest, RejectsTruncatedFiles) {
  const std::string bytes = one_tensor_file().build();
  expect_rejected(bytes.substr(0, 8), "tensor_count", "truncated: needs 8 bytes at offset 8, file has 8");
  // Cut inside the key "general.architecture" (its length field ends at byte 32).
  GgufBuilder metadata_only;
  metadata_only.add_string("general.architecture", "test");
  expect_rejected(metadata_only.build().substr(0, 40), "metadata[0].key",
                  "truncated: needs 20 bytes at offset 32, file has 40");
  // Cut inside the tensor's dimensions: "w" info starts after the key-value pair.
  const std::size_t info_start = 24 + 8 + 20 + 4 + 8 + 4;
  expect_rejected(bytes.substr(0, info_start + 8 + 1 + 4 + 3), "w",
                  "truncated: needs 8 bytes at offset " + std::to_string(info_start + 13) + ", file has " +
                      std::to_string(info_start + 16));
  // Cut inside the data: the tensor needs 16 bytes.
  expect_rejected(bytes.substr(0, bytes.size() - 1), "w",
                  "16 bytes at data offset 0 run past the end of the data section (15 bytes)");
}

TEST_F(GgufTest, RejectsCountsThatCannotFit) {
  GgufBuilder builder = one_tensor_file();
  builder.tensor_count_override = 1000000;
  const std::size_t size = builder.build().size();
  expect_rejected(builder.build(), "tensor_count",
                  "1000000 tensors cannot fit in a file of " + std::to_string(size) + " bytes");
  builder = one_tensor_file();
  builder.kv_count_override = 1LL << 40;
  expect_rejected(builder.build(), "metadata_kv_count",
                  "1099511627776 key-value pairs cannot fit in a file of " + std::to_string(size) + " bytes");
  builder = one_tensor_file();
  builder.add_kv("big", 9, GgufBuilder::pod<std::uint32_t>(4) + GgufBuilder::pod<std::uint64_t>(1ULL << 60));
  const std::string bytes = builder.build();
  // 95 bytes precede the array's elements: header, the architecture pair, then key, type, element
  // type and count of "big".
  const std::size_t left = bytes.size() - (24 + 8 + 20 + 4 + 8 + 4 + 8 + 3 + 4 + 4 + 8);
  expect_rejected(
      bytes, "big",
      "array of 1152921504606846976 u32 values cannot fit in the " + std::to_string(left) + " bytes left");
}

TEST_F(GgufTest, RejectsBadValues) {
  GgufBuilder builder = one_tensor_file();
  builder.add_kv("odd", 13, GgufBuilder::pod<std::uint32_t>(0));
  expect_rejected(builder.build(), "odd", "unknown value type 13");

  builder = one_tensor_file();
  builder.add_kv("flag", 7, std::string(1, '\x02'));
  expect_rejected(builder.build(), "flag", "bool value 2 is neither 0 nor 1");

  builder = one_tensor_file();
  builder.add_string("general.architecture", "again");
  expect_rejected(builder.build(), "general.architecture", "duplicate metadata key");

  // Nine levels of one-element arrays around a u8.
  std::string nested = GgufBuilder::pod<std::uint32_t>(0) + GgufBuilder::pod<std::uint64_t>(1) + "x";
  for (int level = 0; level < 8; ++level) {
    nested = GgufBuilder::pod<std::uint32_t>(9) + GgufBuilder::pod<std::uint64_t>(1) + nested;
  }
  builder = one_tensor_file();
  builder.add_kv("deep", 9, nested);
  expect_rejected(builder.build(), "deep", "arrays nested deeper than 8 levels");

  builder = one_tensor_file();
  builder.add_u32("general.alignment", 48);
  expect_rejected(builder.build(), "general.alignment", "must be a power of two, got 48");
}

TEST_F(GgufTest, RejectsBadTensorInfos) {
  const auto with_tensor = [](const std::vector<std::uint64_t>& ne, std::uint32_t type,
                              std::uint64_t offset) {
    GgufBuilder builder;
    builder.add_tensor("t", ne, type, offset);
    builder.data = std::string(256, '\0');
    return builder.build();
  };
  expect_rejected(with_tensor({1, 1, 1, 1, 1}, 0, 0), "t", "n_dims 5 is outside 1..4");
  expect_rejected(with_tensor({}, 0, 0), "t", "n_dims 0 is outside 1..4");
  expect_rejected(with_tensor({4, 0}, 0, 0), "t", "dimension 1 is 0");
  expect_rejected(with_tensor({1ULL << 40, 1ULL << 40}, 0, 0), "t", "element count overflows");
  expect_rejected(with_tensor({1ULL << 62}, 0, 0), "t", "byte size overflows");
  expect_rejected(with_tensor({256}, 10, 0), "t", "unsupported tensor type 10");  // Q2_K
  expect_rejected(with_tensor({4}, 99, 0), "t", "unsupported tensor type 99");
  expect_rejected(with_tensor({16}, 8, 0), "t",
                  "innermost dimension 16 is not a multiple of the Q8_0 block size 32");
  expect_rejected(with_tensor({4}, 0, 8), "t", "data offset 8 is not a multiple of the alignment 32");
  expect_rejected(with_tensor({4}, 0, 256), "t",
                  "16 bytes at data offset 256 run past the end of the data section (256 bytes)");
  expect_rejected(with_tensor({128}, 0, 0), "t",
                  "512 bytes at data offset 0 run past the end of the data section (256 bytes)");
}

TEST_F(GgufTest, RejectsOverlapsAndDuplicates) {
  GgufBuilder builder;
  builder.add_tensor("a", {16}, 0, 0);  // bytes [0, 64)
  builder.add_tensor("b", {4}, 0, 32);  // bytes [32, 48): inside a
  builder.data = std::string(128, '\0');
  expect_rejected(builder.build(), "b", "data overlaps tensor 'a'");

  GgufBuilder reversed;
  reversed.add_tensor("late", {4}, 0, 64);
  reversed.add_tensor("early", {32}, 0, 0);  // bytes [0, 128) cover late's [64, 80)
  reversed.data = std::string(256, '\0');
  expect_rejected(reversed.build(), "late", "data overlaps tensor 'early'");

  GgufBuilder duplicate;
  duplicate.add_tensor("w", {4}, 0, 0);
  duplicate.add_tensor("w", {4}, 0, 32);
  duplicate.data = std::string(64, '\0');
  expect_rejected(duplicate.build(), "w", "duplicate tensor name");

  GgufBuilder adjacent;  // touching but not overlapping is fine
  adjacent.add_tensor("a", {8}, 0, 0);
  adjacent.add_tensor("b", {8}, 0, 32);
  adjacent.data = std::string(64, '\0');
  EXPECT_EQ(GgufFile::open(write(adjacent.build())).tensors().size(), 2U);
}

TEST_F(GgufTest, RejectsDataSectionPastTheEnd) {
  GgufBuilder builder;
  builder.add_tensor("t", {4}, 0, 0);
  const std::string bytes = builder.build();
  const std::size_t header_end = 24 + 8 + 1 + 4 + 8 + 4 + 8;  // unpadded
  expect_rejected(
      bytes.substr(0, header_end), "data",
      "data section starts at 64, past the end of the file (" + std::to_string(header_end) + " bytes)");
}

TEST_F(GgufTest, CustomAlignmentMovesTheDataSection) {
  GgufBuilder builder;
  builder.alignment = 64;
  builder.add_u32("general.alignment", 64);
  builder.add_tensor("t", {2}, 0, 64);
  builder.data = std::string(64, '\0') + std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  const auto gguf = GgufFile::open(write(builder.build()));
  EXPECT_EQ(gguf.alignment(), 64U);
  std::vector<float> values(2);
  to_f32(gguf.tensor("t"), values, gguf.path());
  EXPECT_EQ(values, (std::vector<float>{1.0F, -2.0F}));
}

}  // namespace
}  // namespace remedi::io
