// libFuzzer target: the data-only pickle reader, straight from memory, in the three ways it is
// used: the whole value (a .pth's data.pkl, with and without its torch mode) and a streamed
// top-level list (BIOS.pkl), whose visitor touches each item.
#include <span>

#include "io/pickle.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes = std::as_bytes(std::span(data, size));
  try {
    (void)remedi::io::read_pickle(bytes, "fuzz.pkl");
  } catch (const remedi::Error&) {
  }
  try {
    remedi::io::PickleOptions options;
    options.torch_tensors = true;
    (void)remedi::io::read_pickle(bytes, "fuzz.pkl", options);
  } catch (const remedi::Error&) {
  }
  try {
    // The reader keeps str bytes as they are (code that writes them out as JSON checks them), so
    // the dump that walks each item replaces invalid UTF-8 instead of throwing.
    remedi::io::read_pickle_list(bytes, "fuzz.pkl", [](const remedi::io::PickleValue& item) {
      return !item.dump(-1, ' ', false, remedi::io::PickleValue::error_handler_t::replace).empty();
    });
  } catch (const remedi::Error&) {
  }
  return 0;
}
