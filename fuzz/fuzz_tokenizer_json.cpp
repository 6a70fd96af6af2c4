// libFuzzer target: a Hugging Face tokenizer.json (model, pre-tokenizer, added tokens, merges) through
// Tokenizer::from_hf_json, then encoding and decoding with whatever loaded (fuzz_tokenizer.h).
#include "fuzz_input.h"
#include "fuzz_tokenizer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const remedi::fuzz::MemoryFile input(data, size);
  try {
    remedi::fuzz::exercise_tokenizer(remedi::tok::Tokenizer::from_hf_json(input.path()));
  } catch (const remedi::Error&) {
  }
  return 0;
}
