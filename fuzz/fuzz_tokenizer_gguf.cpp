// libFuzzer target: the tokenizer a GGUF file's metadata describes (tokenizer.ggml.model, .pre,
// .tokens, .token_type, .merges, .scores, the special token ids): the whole file goes through
// GgufFile::open and Tokenizer::from_gguf, then encoding and decoding (fuzz_tokenizer.h). Seeds are
// GGUF files without tensors (scripts/fuzz.sh strips the fixtures'), so mutations land on metadata.
#include "fuzz_input.h"
#include "fuzz_tokenizer.h"
#include "io/gguf.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const remedi::fuzz::MemoryFile input(data, size);
  try {
    remedi::fuzz::exercise_tokenizer(
        remedi::tok::Tokenizer::from_gguf(remedi::io::GgufFile::open(input.path())));
  } catch (const remedi::Error&) {
  }
  return 0;
}
