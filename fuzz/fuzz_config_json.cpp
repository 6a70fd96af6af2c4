// libFuzzer target: HF config.json parsing for every model type, and the parameter count of any
// config that loads.
#include "fuzz_input.h"
#include "lm/config.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const remedi::fuzz::MemoryFile input(data, size);
  try {
    (void)remedi::lm::parameter_count(remedi::lm::config_from_hf_json(input.path()));
  } catch (const remedi::Error&) {
  }
  return 0;
}
