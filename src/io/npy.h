// NumPy .npy arrays of floats (format versions 1.0, 2.0 and 3.0): little-endian f2, f4 or f8 in C
// order, widened or narrowed to f32. Everything else (Fortran order, big-endian, integer or
// object dtypes, a data size that disagrees with the shape) is rejected with remedi::Error.
// Format: numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace remedi::io {

struct NpyArray {
  std::vector<std::int64_t> shape;  // () for a scalar
  std::vector<float> values;        // row-major, product(shape) values
};

NpyArray read_npy(const std::string& path);
// Parses .npy bytes already in memory; `name` is used in error messages.
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& name);

// Writes a version 1.0 '<f4' C-order file atomically. values.size() must equal product(shape).
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               std::span<const float> values);

}  // namespace remedi::io
