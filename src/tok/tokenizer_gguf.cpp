// Loader for the tokenizer stored in GGUF metadata (llama.cpp's tokenizer.ggml.* keys), built the
// way transformers builds it from a GGUF, except that the pre-tokenizer follows
// tokenizer.ggml.pre (transformers ignores "smollm" and splits digits like GPT-2; see
// docs/TOKENIZER.md) and that Llama-3's pre-tokenizer names turn on ignore_merges, as llama.cpp
// does.
#include <string>

#include "io/gguf.h"
#include "tok/byte_alphabet.h"
#include "tok/tokenizer_impl.h"
#include "util/error.h"

namespace remedi::tok {

namespace {

// llama.cpp's token types.
constexpr std::int64_t kControlToken = 3;
constexpr std::int64_t kUserDefinedToken = 4;

// A special token's id, -1 when the key is absent; an id outside the vocabulary is refused (it would
// be emitted or compared against as if it were a token).
std::int64_t optional_id(const io::GgufFile& gguf, const std::string& key, std::size_t vocab_size) {
  if (!gguf.has(key)) return -1;
  const std::int64_t id = gguf.get_int(key);
  if (id < 0 || static_cast<std::uint64_t>(id) >= vocab_size) {
    throw Error(
        gguf.path(), key,
        "token id " + std::to_string(id) + " is not among the " + std::to_string(vocab_size) + " tokens");
  }
  return id;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const io::GgufFile& gguf) {
  const std::string& path = gguf.path();
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model != "gpt2") {
    throw Error(path, "tokenizer.ggml.model",
                "unsupported tokenizer model \"" + model + "\" (only byte-level BPE, \"gpt2\")");
  }
  TokenizerParts parts;
  parts.source = path;
  const std::vector<std::string> tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  std::vector<std::int64_t> types;
  if (gguf.has("tokenizer.ggml.token_type")) {
    types = gguf.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != tokens.size()) {
      throw Error(path, "tokenizer.ggml.token_type",
                  std::to_string(types.size()) + " types for " + std::to_string(tokens.size()) + " tokens");
    }
  }
  parts.vocab.reserve(tokens.size());
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    // Like transformers: a token not spelled in the byte alphabet is respelled from its UTF-8.
    const bool spelled = from_alphabet(tokens[id]).has_value();
    parts.vocab[spelled ? tokens[id] : to_alphabet(tokens[id])] = static_cast<std::int64_t>(id);
    if (types.empty()) continue;
    // Control tokens are special added tokens (transformers skips a "control" token outside the
    // byte alphabet as a mislabel); user-defined ones are plain added tokens. Both are matched
    // whole in the text, as llama.cpp does.
    if (types[id] == kControlToken && spelled) {
      parts.added_tokens.push_back({static_cast<std::int64_t>(id), tokens[id], true, false, false, false});
    } else if (types[id] == kUserDefinedToken) {
      parts.added_tokens.push_back({static_cast<std::int64_t>(id), tokens[id], false, false, false, false});
    }
  }
  const std::vector<std::string> merges = gguf.get_string_array("tokenizer.ggml.merges");
  parts.merges.reserve(merges.size());
  parts.merges_field = "tokenizer.ggml.merges";
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const auto space = merges[i].find(' ');
    if (space == std::string::npos || merges[i].find(' ', space + 1) != std::string::npos) {
      throw Error(path, "tokenizer.ggml.merges[" + std::to_string(i) + "]",
                  "expected two tokens separated by one space, got \"" + merges[i] + "\"");
    }
    parts.merges.emplace_back(merges[i].substr(0, space), merges[i].substr(space + 1));
  }
  const std::string pre = gguf.has("tokenizer.ggml.pre") ? gguf.get_string("tokenizer.ggml.pre") : "default";
  parts.pre_tokenizer = std::make_unique<PreTokenizer>(PreTokenizer::from_gguf_name(pre, path));
  // llama.cpp (like HF's Llama-3 tokenizer.json) emits a pre-token that is itself a token whole.
  parts.bpe_options.ignore_merges = pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
  parts.special.bos = optional_id(gguf, "tokenizer.ggml.bos_token_id", tokens.size());
  parts.special.eos = optional_id(gguf, "tokenizer.ggml.eos_token_id", tokens.size());
  parts.special.pad = optional_id(gguf, "tokenizer.ggml.padding_token_id", tokens.size());
  return Tokenizer(std::make_unique<Impl>(std::move(parts)));
}

}  // namespace remedi::tok
