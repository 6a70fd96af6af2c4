// Normalizers of tokenizer.json ("normalizer"): NFC (GPT-NeoX, Qwen2), Replace of a literal string
// (Gemma, Llama-2: " " -> "▁"), Prepend (Llama-2, Phi-3: "▁"), and Sequences of them. The text the
// pre-tokenizer and BPE see is the normalized one; each of its bytes remembers the original bytes
// it came from, with HF `tokenizers`' alignment rules, so that token offsets still point into the
// caller's text.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::tok {

struct NormalizedText {
  std::string text;
  // origin[b]: the original byte range [first, second) that normalized byte b stands for (all
  // bytes of one normalized character share it; a character an NFC composition made from several
  // keeps the range of the first, as HF does).
  std::vector<std::pair<std::size_t, std::size_t>> origin;
};

class Normalizer {
 public:
  Normalizer() = default;  // the identity
  // A tokenizer.json "normalizer" node (null: the identity). Throws remedi::Error(source,
  // "normalizer...", reason) for a kind that is not implemented.
  static Normalizer from_json(const nlohmann::json& node, const std::string& source);

  // HF's Metaspace pre-tokenizer, without its split: spaces become `replacement`, which is then
  // put in front of a segment that does not start with it: every segment (prepend_scheme
  // "always"), only the one at the start of the text ("first"), or none ("never").
  enum class MetaspacePrepend { Always, First, Never };
  void add_metaspace(const std::string& replacement, MetaspacePrepend prepend);

  bool is_identity() const { return steps_.empty(); }
  // Normalizes text[begin, end) into `out` (replacing its contents); origins are absolute in `text`.
  void normalize(std::string_view text, std::size_t begin, std::size_t end, NormalizedText& out) const;
  // The normalized form of a whole string (to check added tokens against).
  std::string apply(std::string_view text) const;

 private:
  enum class Kind { Nfc, Replace, Prepend, MetaspacePrepend, MetaspacePrependFirst };
  struct Step {
    Kind kind;
    std::string from;  // Replace: the literal pattern
    std::string to;    // Replace: its replacement; Prepend, MetaspacePrepend*: the prefix
  };
  void parse_node(const nlohmann::json& node, const std::string& source, const std::string& field);

  std::vector<Step> steps_;
};

}  // namespace remedi::tok
