// safetensors: a file written by the Python `safetensors` package, writer/reader round trips,
// sharded checkpoints, and one hand-built file per validation rule.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/expect_error.h"
#include "test_support.h"

namespace remedi::io {
namespace {

namespace fs = std::filesystem;

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const std::uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& values) {
  return std::as_bytes(std::span(values));
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("safetensors-test"); }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& bytes, const std::string& name = "model.safetensors") {
    const std::string path = dir_ + "/" + name;
    test::write_file(path, bytes);
    return path;
  }

  void expect_rejected(const std::string& header, const std::string& data, const std::string& field,
                       const std::string& reason) {
    const std::string path = write(safetensors_bytes(header, data));
    test::expect_error([&] { SafetensorsFile::open(path); }, path, field, reason);
  }

  std::string dir_;
};

TEST_F(SafetensorsTest, ReadsWhatThePythonPackageWrote) {
  const auto file = SafetensorsFile::open(test::fixture("io/small.safetensors"));
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  const auto expected =
      nlohmann::json::parse(test::read_file(test::fixture("io/small_safetensors_expected.json")));
  ASSERT_EQ(file.tensors().size(), expected.size());
  for (std::size_t i = 1; i < file.tensors().size(); ++i) {
    EXPECT_LE(file.tensors()[i - 1].bytes.data() + file.tensors()[i - 1].bytes.size(),
              file.tensors()[i].bytes.data());
  }
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    const TensorView& view = file.tensor(name);
    EXPECT_EQ(dtype_name(view.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(view.shape, want["shape"].get<std::vector<std::int64_t>>());
    const auto values = want["values"].get<std::vector<float>>();
    if (view.dtype == DType::I64) {
      std::vector<std::int64_t> ids(values.size());
      std::memcpy(ids.data(), view.bytes.data(), view.bytes.size());
      for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(static_cast<float>(ids[i]), values[i]);
      continue;
    }
    std::vector<float> got(values.size());
    to_f32(view, got, file.path());
    EXPECT_EQ(got, values);
  }
}

TEST_F(SafetensorsTest, WriterRoundTrip) {
  const std::vector<float> weights = {1.5F, -2.0F, 3.25F, 0.0F, 1e-8F, -7.0F};
  const std::vector<std::uint16_t> brain = {f32_to_bf16(1.0F), f32_to_bf16(-0.5F), f32_to_bf16(3.0F),
                                            f32_to_bf16(100.0F)};
  const std::vector<std::int64_t> ids = {7, -1};
  const std::vector<double> scalar = {2.5};
  const std::vector<float> empty;
  const std::string path = dir_ + "/editor.safetensors";
  write_safetensors(path,
                    {{"w", DType::F32, {2, 3}, bytes_of(weights)},
                     {"b", DType::BF16, {4}, bytes_of(brain)},
                     {"ids", DType::I64, {2}, bytes_of(ids)},
                     {"s", DType::F64, {}, bytes_of(scalar)},
                     {"e", DType::F32, {0, 3}, bytes_of(empty)}},
                    {{"layer", "12"}, {"type", "remedi"}});
  const std::string bytes = test::read_file(path);
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ((8 + header_length) % 8, 0U);  // data buffer 8-byte aligned
  EXPECT_EQ(bytes.size(), 8 + header_length + 24 + 8 + 16 + 8);

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file.metadata().at("layer"), "12");
  EXPECT_EQ(file.tensors().size(), 5U);
  const TensorView& w = file.tensor("w");
  EXPECT_EQ(w.shape, (std::vector<std::int64_t>{2, 3}));
  std::vector<float> got(6);
  to_f32(w, got, path);
  EXPECT_EQ(got, weights);
  std::vector<float> brain_values(4);
  to_f32(file.tensor("b"), brain_values, path);
  EXPECT_EQ(brain_values, (std::vector<float>{1.0F, -0.5F, 3.0F, 100.0F}));
  EXPECT_EQ(std::memcmp(file.tensor("ids").bytes.data(), ids.data(), 16), 0);
  EXPECT_TRUE(file.tensor("s").shape.empty());
  EXPECT_EQ(file.tensor("s").numel(), 1);
  EXPECT_EQ(file.tensor("e").numel(), 0);
  EXPECT_TRUE(file.tensor("e").bytes.empty());
  // Stored in the given order.
  EXPECT_EQ(file.tensors()[0].name, "w");
  EXPECT_EQ(file.tensors()[1].name, "b");
}

TEST_F(SafetensorsTest, WriterFailsWithoutLeavingFiles) {
  const std::string path = dir_ + "/out.safetensors";
  test::write_file(path, "previous contents");
  const std::vector<float> three = {1, 2, 3};
  test::expect_error(
      [&] {
        write_safetensors(path, {{"w", DType::F32, {2, 2}, bytes_of(three)}});
      },
      path, "w", "has 12 bytes, shape [2, 2] of F32 needs 16");
  test::expect_error(
      [&] {
        write_safetensors(path,
                          {{"w", DType::F32, {3}, bytes_of(three)}, {"w", DType::F32, {3}, bytes_of(three)}});
      },
      path, "w", "duplicate or reserved tensor name");
  test::expect_error(
      [&] {
        write_safetensors(path, {{"q", DType::Q8_0, {3}, bytes_of(three)}});
      },
      path, "q", "safetensors cannot hold Q8_0");
  EXPECT_EQ(test::read_file(path), "previous contents");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // no temporaries

  const std::string missing_dir = dir_ + "/absent/out.safetensors";
  try {
    write_safetensors(missing_dir, {{"w", DType::F32, {3}, bytes_of(three)}});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), missing_dir);
    EXPECT_EQ(e.reason().rfind("cannot create a temporary file: ", 0), 0U) << e.reason();
  }
}

TEST_F(SafetensorsTest, RejectsBadFraming) {
  const std::string path = write("1234567");
  test::expect_error([&] { SafetensorsFile::open(path); }, path, "header",
                     "truncated: file has 7 bytes, the header length alone needs 8");
  std::string beyond = safetensors_bytes("{}", "");
  beyond[0] = 100;
  const std::string beyond_path = write(beyond);
  test::expect_error([&] { SafetensorsFile::open(beyond_path); }, beyond_path, "header",
                     "header length 100 runs past the end of the file (10 bytes)");
  expect_rejected("[1, 2]", "", "header", "must be a JSON object");
  const std::string broken_path = write(safetensors_bytes("{\"a\": ", ""));
  try {
    SafetensorsFile::open(broken_path);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), broken_path);
    EXPECT_EQ(e.field(), "header");
    EXPECT_EQ(e.reason().rfind("malformed JSON: ", 0), 0U) << e.reason();
  }
  expect_rejected("[[[[[[[[[[[[]]]]]]]]]]]]", "", "header", "JSON nested deeper than 8");
}

TEST_F(SafetensorsTest, RejectsBadEntries) {
  const std::string data(64, '\0');
  expect_rejected(R"({"w": 3})", data, "w", "entry must be an object with dtype, shape and data_offsets");
  expect_rejected(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", data, "w", "dtype must be a string");
  expect_rejected(R"({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})", data, "w",
                  "unknown dtype 'F8_E4M3'");
  expect_rejected(R"({"w": {"dtype": "Q4_0", "shape": [32], "data_offsets": [0, 18]}})", data, "w",
                  "unknown dtype 'Q4_0'");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", data, "w",
                  "shape must be an array of non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", data, "w",
                  "shape must be an array of non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}})", data, "w",
                  "shape must be an array of non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]}})", data, "w",
                  "data_offsets must be [begin, end] with non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2]}})", data, "w",
                  "data_offsets must be [begin, end] with non-negative integers");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", data, "w",
                  "data_offsets [8, 0] are reversed");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [60, 68]}})", data, "w",
                  "data_offsets [60, 68] run past the end of the data buffer (64 bytes)");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data, "w",
                  "data_offsets span 8 bytes, shape [3] of F32 needs 12");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
                  data, "w", "element count overflows");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 8]}})", data,
                  "w", "data_offsets span 8 bytes, shape [4611686018427387904] of F32 needs more than 2^64");
  expect_rejected(R"({"__metadata__": {"format": 1}})", data, "__metadata__.format",
                  "value must be a string");
  expect_rejected(R"({"__metadata__": [1]})", data, "__metadata__", "must be an object of strings");
}

TEST_F(SafetensorsTest, RejectsOverlapsAndDuplicates) {
  const std::string data(64, '\0');
  expect_rejected(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                  data, "b", "data overlaps tensor 'a'");
  expect_rejected(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                  data, "w", "duplicate tensor name");
  // Gaps and empty tensors placed inside other tensors are tolerated.
  const std::string path =
      write(safetensors_bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
      "b": {"dtype": "U8", "shape": [4], "data_offsets": [32, 36]}})",
                              data));
  EXPECT_EQ(SafetensorsFile::open(path).tensors().size(), 3U);
}

TEST_F(SafetensorsTest, ShardedCheckpoint) {
  const std::vector<float> a = {1, 2};
  const std::vector<float> b = {3, 4, 5};
  write_safetensors(dir_ + "/model-00001-of-00002.safetensors", {{"a", DType::F32, {2}, bytes_of(a)}});
  write_safetensors(dir_ + "/model-00002-of-00002.safetensors", {{"b", DType::F32, {3}, bytes_of(b)}});
  const std::string index = dir_ + "/model.safetensors.index.json";
  test::write_file(index, R"({"metadata": {"total_size": 20}, "weight_map": {
      "b": "model-00002-of-00002.safetensors", "a": "model-00001-of-00002.safetensors"}})");
  for (const std::string& path : {dir_, index}) {
    const auto checkpoint = SafetensorsCheckpoint::open(path);
    ASSERT_EQ(checkpoint.tensors().size(), 2U);
    EXPECT_EQ(checkpoint.tensors()[0]->name, "a");  // shard order
    EXPECT_EQ(checkpoint.tensor("b").shape, (std::vector<std::int64_t>{3}));
    EXPECT_EQ(checkpoint.file_of("b"), dir_ + "/model-00002-of-00002.safetensors");
    EXPECT_EQ(checkpoint.find_tensor("c"), nullptr);
    test::expect_error([&] { checkpoint.tensor("c"); }, path, "c", "no such tensor");
  }

  test::write_file(index, R"({"weight_map": {"a": "model-00002-of-00002.safetensors",
                                               "b": "model-00002-of-00002.safetensors"}})");
  test::expect_error([&] { SafetensorsCheckpoint::open(dir_); }, index, "a",
                     "listed in weight_map but missing from " + dir_ + "/model-00002-of-00002.safetensors");

  write_safetensors(dir_ + "/model-00001-of-00002.safetensors", {{"b", DType::F32, {3}, bytes_of(b)}});
  test::write_file(index, R"({"weight_map": {"b": "model-00001-of-00002.safetensors",
                                               "c": "model-00002-of-00002.safetensors"}})");
  test::expect_error([&] { SafetensorsCheckpoint::open(dir_); }, dir_ + "/model-00002-of-00002.safetensors",
                     "b", "also stored in " + dir_ + "/model-00001-of-00002.safetensors");

  test::write_file(index, R"({"metadata": {}})");
  test::expect_error([&] { SafetensorsCheckpoint::open(dir_); }, index, "weight_map",
                     "missing or not an object");
}

TEST_F(SafetensorsTest, SingleFileCheckpoint) {
  const std::vector<float> a = {1, 2};
  write_safetensors(dir_ + "/model.safetensors", {{"a", DType::F32, {2}, bytes_of(a)}});
  EXPECT_EQ(SafetensorsCheckpoint::open(dir_).tensors().size(), 1U);
  EXPECT_EQ(SafetensorsCheckpoint::open(dir_ + "/model.safetensors").tensor("a").numel(), 2);
  const std::string empty = test::temp_dir("empty-checkpoint");
  test::expect_error([&] { SafetensorsCheckpoint::open(empty); }, empty, "",
                     "holds neither model.safetensors nor model.safetensors.index.json");
  fs::remove_all(empty);
}

}  // namespace
}  // namespace remedi::io
