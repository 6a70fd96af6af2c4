// .npy: files written by numpy (tests/reference/make_gguf_fixtures.py), a write/read round trip,
// and the rejected kinds.
#include "io/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/expect_error.h"
#include "test_support.h"

namespace remedi::io {
namespace {

// The array every float fixture holds, as numpy rounded it to each width.
const std::vector<float> kValues = {0.5F, -1.25F, 3.0F, 1e-3F, 65504.0F, -0.0F};

TEST(Npy, ReadsNumpyFloatFiles) {
  for (const char* name : {"f4_v1.npy", "f4_v2.npy", "f4_v3.npy", "f8_v1.npy"}) {
    SCOPED_TRACE(name);
    const NpyArray array = read_npy(test::fixture(std::string("io/npy/") + name));
    EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(array.values, kValues);
    EXPECT_TRUE(std::signbit(array.values[5]));
  }
  const NpyArray half = read_npy(test::fixture("io/npy/f2_v1.npy"));
  ASSERT_EQ(half.values.size(), 6U);
  EXPECT_EQ(half.values[3], 0.0010004043579101562F);  // 1e-3 rounded to f16
  EXPECT_EQ(half.values[4], 65504.0F);
}

TEST(Npy, ScalarsAndEmptyArrays) {
  const NpyArray scalar = read_npy(test::fixture("io/npy/scalar.npy"));
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.values, std::vector<float>{7.5F});
  const NpyArray empty = read_npy(test::fixture("io/npy/empty.npy"));
  EXPECT_EQ(empty.shape, (std::vector<std::int64_t>{0, 4}));
  EXPECT_TRUE(empty.values.empty());
}

TEST(Npy, RejectsOtherLayoutsAndTypes) {
  const std::string fortran = test::fixture("io/npy/fortran.npy");
  test::expect_error([&] { read_npy(fortran); }, fortran, "fortran_order",
                     "Fortran-order arrays are not supported");
  const std::string big = test::fixture("io/npy/big_endian.npy");
  test::expect_error([&] { read_npy(big); }, big, "descr",
                     "unsupported dtype '>f4' (supported: '<f2', '<f4', '<f8')");
  const std::string ints = test::fixture("io/npy/int32.npy");
  test::expect_error([&] { read_npy(ints); }, ints, "descr",
                     "unsupported dtype '<i4' (supported: '<f2', '<f4', '<f8')");
}

std::string npy_v1(const std::string& header, const std::string& data) {
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

TEST(Npy, RejectsMalformedHeaders) {
  const auto rejected = [](const std::string& bytes, const std::string& field, const std::string& reason) {
    test::expect_error([&] { parse_npy(std::as_bytes(std::span(bytes.data(), bytes.size())), "x.npy"); },
                       "x.npy", field, reason);
  };
  rejected("PK\x03\x04", "magic", "not a .npy file (missing the \\x93NUMPY prefix)");
  rejected(std::string("\x93NUMPY\x04\x00", 8), "version", "unsupported .npy version 4.0");
  rejected(std::string("\x93NUMPY\x01\x00\x05", 9), "header", "truncated before the header length");
  rejected(npy_v1("{'descr': '<f4'", "").substr(0, 14), "header",
           "header length 15 runs past the end of the file (14 bytes)");
  rejected(npy_v1("{'descr': '<f4', 'shape': (2,), }", std::string(8, '\0')), "fortran_order",
           "missing from the header");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", std::string(8, '\0')), "shape",
           "(3,) of '<f4' needs 12 bytes, file holds 8");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", ""), "shape",
           "expected a tuple of non-negative integers");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }", ""), "fortran_order",
           "expected True or False");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", ""), "header",
           "unexpected key 'extra'");
  rejected(npy_v1("{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }", ""), "header",
           "expected '}' at byte 17");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""),
           "shape", "dimension too large");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""),
           "shape", "element count overflows");
  rejected(npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (), } x", std::string(4, '\0')),
           "header", "unexpected text after the dictionary");
}

TEST(Npy, WriteRoundTripIsAtomic) {
  const std::string dir = test::temp_dir("npy-test");
  const std::string path = dir + "/idf.npy";
  const std::vector<float> values = {1.0F, -2.5F, 1e-30F, 7.0F};
  write_npy(path, {2, 2}, values);
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(array.values, values);
  const std::string bytes = test::read_file(path);
  // numpy pads the header with spaces and a newline so the data starts at a multiple of 64.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  ASSERT_EQ(bytes.size(), 128U + 16U);
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes.substr(10 + dict.size(), 128 - 11 - dict.size()), std::string(128 - 11 - dict.size(), ' '));
  EXPECT_EQ(bytes[127], '\n');

  write_npy(path, {3}, std::vector<float>{1, 2, 3});
  EXPECT_EQ(read_npy(path).shape, (std::vector<std::int64_t>{3}));
  test::expect_error(
      [&] {
        write_npy(path, {2, 2}, std::vector<float>{1, 2, 3});
      },
      path, "shape", "(2, 2) needs 4 values, got 3");
  EXPECT_EQ(read_npy(path).values, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi::io
