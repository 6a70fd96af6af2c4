// The BPE model of a byte-level tokenizer: vocabulary, ranked merges, and a cache of pieces
// already encoded. Works on token ids, never on strings: a piece's bytes map to the ids of their
// one-character alphabet tokens, then the lowest-ranked adjacent pair is merged until none is left
// (ties: leftmost first), exactly HF `tokenizers`' BPE without dropout.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace remedi::tok {

struct BpeToken {
  std::int64_t id = 0;
  // Bytes of the piece the token is attributed to, [first, last]: in HF's accounting (see encode).
  std::int64_t first_byte = 0;
  std::int64_t last_byte = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
// Alphabet spelling -> id, searchable by string_view.
using Vocab = std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>>;

struct BpeOptions {
  // true: GPT-2's byte-level BPE, whose symbols start as the alphabet tokens of the piece's bytes.
  // false: SentencePiece-style BPE (Gemma, Llama-2), whose symbols start as the piece's characters,
  // looked up as themselves.
  bool byte_level = true;
  // Character mode: a character outside the vocabulary becomes the <0xNN> tokens of its UTF-8 bytes
  // when all of them exist (else it is unknown).
  bool byte_fallback = false;
  // Llama-3: a piece that is itself a vocabulary entry is emitted whole, skipping the merges.
  bool ignore_merges = false;
  // Bytes whose alphabet token is absent: dropped (HF with unk_token null) or mapped to `unk_id`.
  std::optional<std::int64_t> unk_id;
  bool fuse_unk = false;
};

class BpeModel {
 public:
  // `vocab`: alphabet spelling -> id. `merges`: pairs of spellings, best first. `ranks`: empty, or
  // one rank per merge (lower merges first; equal ranks merge leftmost first), for merges derived
  // from SentencePiece scores. Throws remedi::Error(source, merges_field + "[i]", ...) when a merge
  // names an unknown token or its result is not in the vocabulary.
  BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& source, const std::string& merges_field,
           std::span<const std::int32_t> ranks = {});
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;
  ~BpeModel() = default;

  // Appends the tokens of one pre-tokenized piece (raw bytes). Token byte attributions follow HF,
  // which counts positions in the alphabet spelling of the piece (byte-level; in character mode,
  // the bytes themselves) and only over symbols that were kept: after a dropped byte, later tokens
  // of the same piece are attributed to earlier bytes.
  void encode(std::string_view piece, std::vector<BpeToken>& out) const;

  std::optional<std::int64_t> find(std::string_view spelling) const;
  const Vocab& vocab() const { return vocab_; }

 private:
  struct Merge {
    std::int32_t rank;
    std::int64_t merged_id;
  };
  using Cache = std::unordered_map<std::string, std::vector<BpeToken>, StringHash, std::equal_to<>>;

  void encode_uncached(std::string_view piece, std::vector<BpeToken>& out) const;
  // Calls add(id, spelled_length, byte_fallback) for each initial symbol of the piece: a byte
  // (byte-level), or a character or its <0xNN> byte-fallback tokens; id -1 is an unknown one.
  template <typename Add>
  void for_each_initial_symbol(std::string_view piece, Add&& add) const;
  static std::uint64_t pair_key(std::int64_t left, std::int64_t right) {
    return (static_cast<std::uint64_t>(left) << 32) | static_cast<std::uint32_t>(right);
  }

  Vocab vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::int64_t byte_token_[256];      // id of each byte's alphabet token, -1 if absent
  std::int64_t fallback_token_[256];  // id of each byte's <0xNN> token, -1 if absent
  BpeOptions options_;

  mutable std::mutex cache_mutex_;
  mutable Cache cache_;
};

}  // namespace remedi::tok
