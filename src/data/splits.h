// Row selection by file order (METHOD §3.6): the Hugging Face `datasets` split syntax the original's
// command lines use, and the seeded train/validation hold-out of editor training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace remedi::data {

// The rows a split spec selects from a data set of `row_count` rows, in order. Accepted: "train"
// (every row: a converted file is one split named train), "train[A:B]" with either bound
// optional, bounds as row numbers (negative counts from the end) or percentages ("train[:10%]",
// rounded to the nearest row, ties to even, as the datasets library does), an optional positive
// step as in Python ("train[977::2]": every other row from 977; our extension, the library has none), and
// several such pieces joined by "+". Bounds past the end are clamped, so a short data set gives a short
// slice. Throws remedi::Error("<argument>", "split", ...) for anything else.
std::vector<std::size_t> select_rows(std::string_view spec, std::size_t row_count);

template <typename T>
std::vector<T> select_split(const std::vector<T>& rows, std::string_view spec) {
  std::vector<T> selected;
  for (const std::size_t index : select_rows(spec, rows.size())) selected.push_back(rows[index]);
  return selected;
}

struct HoldOutSplit {
  std::vector<std::size_t> train;       // row indices, in permuted order
  std::vector<std::size_t> validation;  // ceil(fraction * row_count) row indices, in permuted order
};

// The random hold-out inside the training rows (METHOD §3.6, Q5, Q32): a permutation of the rows
// drawn from a Python-compatible generator seeded with `seed`; its first ceil(fraction * n)
// entries are the validation rows and the rest the training rows, the layout of the datasets
// library's train_test_split (whose permutation came from NumPy's global state and cannot be
// reproduced).
HoldOutSplit hold_out_split(std::size_t row_count, double fraction, std::uint64_t seed);

}  // namespace remedi::data
