// libFuzzer target: safetensors open (header framing, JSON, entries, overlaps) as a single file and
// as a one-file checkpoint, and conversion of every floating tensor.
#include <vector>

#include "fuzz_input.h"
#include "io/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const remedi::fuzz::MemoryFile input(data, size);
  try {
    const auto file = remedi::io::SafetensorsFile::open(input.path());
    for (const auto& view : file.tensors()) {
      if (!remedi::io::dtype_is_float_like(view.dtype)) continue;
      std::vector<float> values(static_cast<std::size_t>(view.numel()));
      remedi::io::to_f32(view, values, file.path());
    }
    const auto checkpoint = remedi::io::SafetensorsCheckpoint::open(input.path());
    for (const auto* view : checkpoint.tensors()) (void)checkpoint.file_of(view->name);
  } catch (const remedi::Error&) {
  }
  return 0;
}
