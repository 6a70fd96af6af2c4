// The second reference of make_spm_gguf_fixtures.py: token ids of texts as llama.cpp's own
// tokenizer gives them for a vocabulary-only GGUF, through libllama's public API (no special tokens
// added, special tokens in the text parsed: what transformers' encode(add_special_tokens=False) does).
//
// Built by the script against a llama.cpp checkout:
//   g++ -std=c++17 -O1 llama_cpp_tokenize.cpp -I $LLAMA_CPP/include -I $LLAMA_CPP/ggml/include \
//       -L $LLAMA_CPP/build/bin -lllama -Wl,-rpath,$LLAMA_CPP/build/bin
// Usage: llama_cpp_tokenize FILE.gguf < texts > ids
//   stdin: each text as an 8-byte little-endian length then its UTF-8 bytes.
//   stdout: one line per text, the ids separated by spaces, or "!" and the reason when llama.cpp
//   throws (a character with neither a token nor byte tokens).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: llama_cpp_tokenize FILE.gguf < texts\n";
    return 2;
  }
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(argv[1], params);
  if (model == nullptr) {
    std::cerr << argv[1] << ": llama.cpp cannot load it\n";
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  std::uint64_t length = 0;
  while (std::fread(&length, sizeof length, 1, stdin) == 1) {
    std::string text(length, '\0');
    if (length > 0 && std::fread(text.data(), 1, length, stdin) != length) return 1;
    try {
      std::vector<llama_token> ids(text.size() + 8);
      int count = llama_tokenize(vocab, text.data(), static_cast<std::int32_t>(text.size()), ids.data(),
                                 static_cast<std::int32_t>(ids.size()), false, true);
      if (count < 0) {
        ids.resize(static_cast<std::size_t>(-count));
        count = llama_tokenize(vocab, text.data(), static_cast<std::int32_t>(text.size()), ids.data(),
                               static_cast<std::int32_t>(ids.size()), false, true);
      }
      for (int i = 0; i < count; ++i) std::cout << (i ? " " : "") << ids[static_cast<std::size_t>(i)];
      std::cout << "\n";
    } catch (const std::exception& error) {
      std::cout << "!" << error.what() << "\n";
    }
  }
  llama_model_free(model);
  return 0;
}
