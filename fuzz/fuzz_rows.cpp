// libFuzzer target: row selectors (`--rows train[:12]`, data/splits.h). The first two bytes give the
// data set's row count (0..65535), the rest is the selector; every selected row must exist.
#include <cstdlib>
#include <string_view>

#include "data/splits.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t row_count = static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8);
  const std::string_view spec(reinterpret_cast<const char*>(data + 2), size - 2);
  try {
    for (const std::size_t row : remedi::data::select_rows(spec, row_count)) {
      if (row >= row_count) std::abort();
    }
  } catch (const remedi::Error&) {
  }
  return 0;
}
