// Pre-tokenization: cutting text into the pieces that BPE sees, as HF `tokenizers` does it. A
// pipeline is a list of regex splits (PCRE2, util/regex.h: Split's Oniguruma patterns, the
// Llama-3 and Qwen2 ones included, mean the same there); the byte-level step (ByteLevel) must come
// last and, with use_regex, is itself a split by the GPT-2 pattern. Pieces are byte ranges of the
// text given to split() (the normalized text when there is a normalizer).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/regex.h"

namespace remedi::tok {

struct Piece {
  std::size_t begin = 0;  // bytes
  std::size_t end = 0;
};

// HF SplitDelimiterBehavior: what happens to the matched text.
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class PreTokenizer {
 public:
  // ByteLevel(use_regex=true): GPT-2, GPT-J, GPT-NeoX.
  static PreTokenizer gpt2();
  // No split at all: SentencePiece-style BPE without a pre-tokenizer (Gemma) sees whole segments.
  static PreTokenizer none() { return {}; }
  // Metaspace's split (split: true): each piece starts at a `replacement` (HF MergedWithNext).
  static PreTokenizer metaspace_split(const std::string& replacement, const std::string& source);
  // A tokenizer.json "pre_tokenizer" node: ByteLevel, Split, Digits or a Sequence of them.
  // byte_level: ByteLevel must end it; otherwise (a SentencePiece-style BPE) it must not appear.
  // Throws remedi::Error(source, "pre_tokenizer...", reason) for anything else.
  static PreTokenizer from_json(const nlohmann::json& node, const std::string& source,
                                bool byte_level = true);
  // GGUF tokenizer.ggml.pre: "default"/"gpt-2", "smollm", "llama-bpe"/"llama3", "qwen2".
  static PreTokenizer from_gguf_name(const std::string& name, const std::string& source);

  // Appends the pieces of text[begin, end) to `pieces`; empty pieces are dropped.
  void split(std::string_view text, std::size_t begin, std::size_t end, std::vector<Piece>& pieces) const;

 private:
  struct Step {
    Regex regex;
    SplitBehavior behavior;
    bool invert;
  };
  PreTokenizer() = default;
  void add_split(Regex regex, SplitBehavior behavior, bool invert);
  void parse_node(const nlohmann::json& node, const std::string& source, const std::string& field,
                  bool& byte_level_seen);

  std::vector<Step> steps_;
};

// The GPT-2 pre-tokenizer pattern (HF ByteLevel use_regex=true).
extern const char* const kGpt2Pattern;

}  // namespace remedi::tok
