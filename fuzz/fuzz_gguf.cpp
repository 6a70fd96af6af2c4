// libFuzzer target: GGUF open (all validation), metadata rendering and getters, config from the
// metadata, and dequantization of every tensor the file declares.
#include <vector>

#include "fuzz_input.h"
#include "io/gguf.h"
#include "lm/config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const remedi::fuzz::MemoryFile input(data, size);
  try {
    const auto gguf = remedi::io::GgufFile::open(input.path());
    for (const auto& [key, value] : gguf.metadata()) {
      (void)remedi::io::to_display_string(value);
      try {
        (void)gguf.get_float(key);
      } catch (const remedi::Error&) {
      }
      try {
        (void)gguf.get_int_array(key);
      } catch (const remedi::Error&) {
      }
    }
    for (const auto& view : gguf.tensors()) {
      if (!remedi::io::dtype_is_float_like(view.dtype)) continue;
      std::vector<float> values(static_cast<std::size_t>(view.numel()));
      remedi::io::to_f32(view, values, gguf.path());
      std::vector<std::uint16_t> rounded(values.size());
      remedi::io::to_bf16(view, rounded, gguf.path());
    }
    (void)remedi::lm::parameter_count(remedi::lm::config_from_gguf(gguf));
  } catch (const remedi::Error&) {
    // Rejected input: the expected outcome for most of the corpus.
  }
  return 0;
}
