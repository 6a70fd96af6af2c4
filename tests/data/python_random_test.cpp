#include "data/python_random.h"

#include <gtest/gtest.h>

namespace remedi::data {
namespace {

// Expected draws printed by tests/reference/python_random_vectors.py (CPython 3.11).
TEST(PythonRandom, GetrandbitsMatchesCPython) {
  PythonRandom random(123456);
  const std::vector<std::uint64_t> expected = {3460142176U, 3624162059U, 3410457496U, 1244111331U,
                                               126382657U};
  for (const std::uint64_t value : expected) EXPECT_EQ(random.getrandbits(32), value);

  PythonRandom widths(123456);
  EXPECT_EQ(widths.getrandbits(7), 103U);
  EXPECT_EQ(widths.getrandbits(40), 875502523147ULL);
  EXPECT_EQ(widths.getrandbits(64), 542809379840696803ULL);
}

TEST(PythonRandom, SeedWiderThan32Bits) {
  PythonRandom random((1ULL << 40U) + 5);
  EXPECT_EQ(random.getrandbits(32), 2166296868U);
  EXPECT_EQ(random.getrandbits(32), 2220160828U);
  EXPECT_EQ(random.getrandbits(32), 1153647273U);
}

TEST(PythonRandom, ShuffleMatchesCPython) {
  PythonRandom random(123456);
  std::vector<int> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  random.shuffle(items);
  EXPECT_EQ(items, (std::vector<int>{7, 3, 1, 9, 6, 5, 8, 2, 0, 4}));
}

TEST(PythonRandom, SampleMatchesCPythonInBothAlgorithms) {
  PythonRandom random(123456);
  // Pool algorithm (small population), then set algorithm (large), then both with k > 5.
  EXPECT_EQ(random.sample_indices(10, 3), (std::vector<std::size_t>{4, 0, 2}));
  EXPECT_EQ(random.sample_indices(1000, 5), (std::vector<std::size_t>{977, 2, 933, 679, 892}));
  EXPECT_EQ(random.sample_indices(30, 8), (std::vector<std::size_t>{2, 1, 8, 0, 3, 7, 20, 15}));
  EXPECT_EQ(random.sample_indices(100, 8), (std::vector<std::size_t>{23, 3, 67, 16, 48, 82, 47, 5}));
}

}  // namespace
}  // namespace remedi::data
