// Internals of tok::Tokenizer shared by the encoder (tokenizer.cpp) and the loaders
// (tokenizer_json.cpp, tokenizer_gguf.cpp). Not part of the public interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tok/added_tokens.h"
#include "tok/bpe.h"
#include "tok/normalizer.h"
#include "tok/pre_tokenizer.h"
#include "tok/tokenizer.h"

namespace remedi::tok {

// The byte a ByteFallback token "<0xNN>" stands for (HF also reads lower-case hex digits); nullopt
// for any other spelling.
std::optional<unsigned char> fallback_byte(std::string_view token);

// HF ByteLevel post-processor offset trimming (tokenizer.json "post_processor" with
// trim_offsets=true, e.g. GPT-NeoX): spaces at the edges of a token leave its span.
struct OffsetTrimming {
  bool enabled = false;
  bool add_prefix_space = true;  // the post-processor's flag: keeps a first token's single space
};

struct SpecialIds {
  std::int64_t bos = -1;
  std::int64_t eos = -1;
  std::int64_t pad = -1;
};

// The ids a model's input gets around one text's tokens: a tokenizer.json TemplateProcessing's
// "single" template, or GGUF tokenizer.ggml.add_bos_token / add_eos_token.
struct SpecialTemplate {
  std::vector<std::int64_t> prefix;
  std::vector<std::int64_t> suffix;
  std::string field;  // where they were read, for errors: "post_processor.single", ...
};

// tokenizer.json "decoder": ByteLevel (byte_level), or SentencePiece's chain (Gemma, Llama-2):
// Replace of a literal in every token, ByteFallback (<0xNN> tokens are byte NN; a run of them
// that is not UTF-8 gives one U+FFFD per byte), Fuse, then Strip of the joined text.
struct DecoderSpec {
  bool byte_level = true;
  std::vector<std::pair<std::string, std::string>> replacements;  // in order
  bool byte_fallback = false;
  char32_t strip_content = U' ';
  std::size_t strip_start = 0;  // at most this many `strip_content` removed at the start
  std::size_t strip_stop = 0;   // ... and at the end
};

struct TokenizerParts {
  std::string source;  // file named in errors
  Vocab vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  std::string merges_field;  // where the merges are, for errors: "model.merges", ...
  // One rank per merge (SentencePiece scores, GGUF); empty: a merge's rank is its position.
  std::vector<std::int32_t> merge_ranks;
  BpeOptions bpe_options;
  Normalizer normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  DecoderSpec decoder;
  std::vector<AddedToken> added_tokens;
  OffsetTrimming trimming;
  SpecialIds special;
  SpecialTemplate specials_added;
};

class Tokenizer::Impl {
 public:
  explicit Impl(TokenizerParts&& parts);

  Encoding encode(std::string_view text) const;
  // encode, between the template's prefix and suffix (offsets {0, 0}).
  Encoding encode_with_specials(std::string_view text) const;
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const;

  std::int64_t vocab_size() const { return static_cast<std::int64_t>(spellings_.size()); }
  bool has_token(std::int64_t id) const { return id >= 0 && id < vocab_size() && kinds_[id] != Kind::None; }
  const std::string& spelling(std::int64_t id) const;
  const std::string& bytes(std::int64_t id) const;
  bool is_special(std::int64_t id) const { return has_token(id) && kinds_[id] == Kind::Special; }
  std::optional<std::int64_t> find(std::string_view spelling) const;
  const SpecialIds& special() const { return special_; }
  const SpecialTemplate& specials_added() const { return specials_added_; }

 private:
  enum class Kind : std::uint8_t { None, Vocab, Added, Special };

  std::string decode_sentencepiece(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const;

  std::string source_;
  BpeModel bpe_;
  Normalizer normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  DecoderSpec decoder_;
  AddedTokenMatcher added_;
  OffsetTrimming trimming_;
  SpecialIds special_;
  SpecialTemplate specials_added_;
  std::vector<std::string> spellings_;  // id -> vocabulary string (added tokens: their content)
  std::vector<std::string> bytes_;      // id -> the bytes it decodes to (alone)
  std::vector<Kind> kinds_;
};

}  // namespace remedi::tok
