// libFuzzer target: .npy header parsing and float conversion, straight from memory.
#include <span>

#include "io/npy.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)remedi::io::parse_npy(std::as_bytes(std::span(data, size)), "fuzz.npy");
  } catch (const remedi::Error&) {
  }
  return 0;
}
