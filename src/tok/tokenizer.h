// BPE tokenizer, byte-level (GPT-2, GPT-J, GPT-NeoX, SmolLM2, Llama-3, Qwen2, OLMo 2) or
// SentencePiece-style with byte fallback (Gemma, Llama-2, Phi-3), loaded from an HF
// tokenizer.json, from vocab.json + merges.txt, or from GGUF metadata (tokenizer.ggml.*: "gpt2",
// or "llama" SentencePiece scores, tokenized as llama.cpp does); it reproduces HF `tokenizers` ids
// and offsets, normalizers (NFC, Replace, Prepend) included. Details and known differences:
// docs/TOKENIZER.md.
//
// Offsets are in Unicode code points of the input string (the unit of Python's str and of HF
// `offset_mapping`), half-open [start, end). See METHOD §2.2: a token that begins with a space
// includes that space in its span (unless a tokenizer.json post-processor trims offsets).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remedi::io {
class GgufFile;
}

namespace remedi::tok {

struct Offset {
  std::int64_t start = 0;  // code points
  std::int64_t end = 0;
  bool operator==(const Offset&) const = default;
};

struct Encoding {
  std::vector<std::int64_t> ids;
  std::vector<Offset> offsets;  // one per id
};

class Tokenizer {
 public:
  // `path`: a tokenizer.json file, a folder holding tokenizer.json (or vocab.json + merges.txt),
  // or a .gguf file. Throws remedi::Error(file, field, reason).
  static Tokenizer load(const std::string& path);
  static Tokenizer from_hf_json(const std::string& tokenizer_json_path);
  static Tokenizer from_vocab_merges(const std::string& vocab_json_path, const std::string& merges_txt_path);
  static Tokenizer from_gguf(const io::GgufFile& gguf);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Special/added tokens that appear literally in `text` are matched as single tokens (as HF does
  // for added tokens). Nothing is added around the text: for pieces of text (a target word,
  // " " + word, a span). Safe to call from several threads at once.
  Encoding encode(std::string_view text) const;
  // A model's input, as HF's tokenizer(text, add_special_tokens=...): with add_special_tokens,
  // special_prefix() + encode(text).ids + special_suffix(), the added ids with offsets {0, 0} (HF's
  // offset_mapping); without, encode(text).
  Encoding encode(std::string_view text, bool add_special_tokens) const;
  // The ids added before / after one text (e.g. {bos} for Gemma and Llama-3; empty for GPT-2 and
  // SmolLM2): tokenizer.json's TemplateProcessing "single" template, or GGUF
  // tokenizer.ggml.add_bos_token / add_eos_token. See docs/TOKENIZER.md.
  const std::vector<std::int64_t>& special_prefix() const;
  const std::vector<std::int64_t>& special_suffix() const;
  // Byte-level inverse of encode; invalid UTF-8 becomes U+FFFD per maximal ill-formed subsequence
  // (HF decode, Python errors="replace"). Ids without a token are skipped, as HF does.
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = false) const;

  std::int64_t vocab_size() const;
  // Raw vocabulary string of a token (byte-level alphabet, e.g. "Ġthe"; SentencePiece: "▁the");
  // throws on a bad id.
  const std::string& token_string(std::int64_t id) const;
  std::optional<std::int64_t> token_id(std::string_view token_string) const;
  // The bytes a token stands for (possibly a fragment of a UTF-8 character); throws on a bad id.
  const std::string& token_bytes(std::int64_t id) const;
  // Added tokens marked special (e.g. <|endoftext|>, <|im_start|>): dropped by skip_special_tokens.
  bool is_special(std::int64_t id) const;

  std::int64_t bos_id() const;  // -1 when unknown
  std::int64_t eos_id() const;
  std::int64_t pad_id() const;  // falls back to eos

  class Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Code-point length of a UTF-8 string (invalid bytes count as one code point each, like the
// tokenizer's own decoding).
std::int64_t utf8_length(std::string_view text);

}  // namespace remedi::tok
