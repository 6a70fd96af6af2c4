#include "tok/bpe.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "tok/byte_alphabet.h"
#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

// HF caches pieces shorter than this; longer ones are rare and would bloat the cache.
constexpr std::size_t kMaxCachedPieceBytes = 256;
constexpr std::size_t kMaxCacheEntries = 1 << 16;

// Bytes of the UTF-8 spelling of a byte's alphabet character (HF counts positions in these).
int spelling_length(unsigned char byte) { return byte_to_alphabet(byte) < 0x80 ? 1 : 2; }

struct Symbol {
  std::int64_t id;
  std::int64_t spelled_length;  // bytes of alphabet spelling covered
  int prev;
  int next;
};

struct Candidate {
  std::int32_t rank;
  int position;
  std::int64_t merged_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : position > other.position;
  }
};

}  // namespace

BpeModel::BpeModel(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& source, const std::string& merges_field,
                   std::span<const std::int32_t> ranks)
    : vocab_(std::move(vocab)), options_(options) {
  if (!ranks.empty() && ranks.size() != merges.size()) {
    throw Error(source, merges_field,
                std::to_string(ranks.size()) + " ranks for " + std::to_string(merges.size()) + " merges");
  }
  for (const auto& [spelling, id] : vocab_) {
    if (id < 0 || id > INT32_MAX)
      throw Error(source, "vocab", "token id " + std::to_string(id) + " out of range");
  }
  for (int byte = 0; byte < 256; ++byte) {
    std::string spelling = to_alphabet(std::string(1, static_cast<char>(byte)));
    const auto it = vocab_.find(spelling);
    byte_token_[byte] = it == vocab_.end() ? -1 : it->second;
    static constexpr char kHex[] = "0123456789ABCDEF";
    const std::string fallback{'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
    const auto fallback_it = vocab_.find(fallback);
    fallback_token_[byte] = fallback_it == vocab_.end() ? -1 : fallback_it->second;
  }
  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const std::string field = merges_field + "[" + std::to_string(rank) + "]";
    const auto left_it = vocab_.find(left);
    const auto right_it = vocab_.find(right);
    if (left_it == vocab_.end() || right_it == vocab_.end()) {
      std::string reason = "\"";
      reason.append(left).append(" ").append(right).append("\" names a token that is not in the vocabulary");
      throw Error(source, field, reason);
    }
    std::string merged = left;
    merged += right;
    const auto merged_it = vocab_.find(merged);
    if (merged_it == vocab_.end()) {
      throw Error(source, field, "the merge result \"" + merged + "\" is not in the vocabulary");
    }
    // A repeated pair takes its last rank, as in HF (its merge table is built by collecting into a
    // map, which keeps the last insert).
    merges_[pair_key(left_it->second, right_it->second)] =
        Merge{ranks.empty() ? static_cast<std::int32_t>(rank) : ranks[rank], merged_it->second};
  }
}

std::optional<std::int64_t> BpeModel::find(std::string_view spelling) const {
  const auto it = vocab_.find(spelling);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::encode(std::string_view piece, std::vector<BpeToken>& out) const {
  if (piece.size() < kMaxCachedPieceBytes) {
    {
      const std::lock_guard lock(cache_mutex_);
      const auto it = cache_.find(piece);
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<BpeToken> tokens;
    encode_uncached(piece, tokens);
    out.insert(out.end(), tokens.begin(), tokens.end());
    const std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_.emplace(std::string(piece), std::move(tokens));
    return;
  }
  encode_uncached(piece, out);
}

template <typename Add>
void BpeModel::for_each_initial_symbol(std::string_view piece, Add&& add) const {
  if (options_.byte_level) {
    for (const char c : piece) {
      const auto byte = static_cast<unsigned char>(c);
      add(byte_token_[byte], spelling_length(byte), false);
    }
    return;
  }
  for (std::size_t pos = 0; pos < piece.size();) {
    // An invalid byte is a character of its own (it can only be reached by byte fallback).
    const std::size_t length = decode_utf8_at(piece, pos).length;
    const std::string_view character = piece.substr(pos, length);
    pos += length;
    if (const auto it = vocab_.find(character); it != vocab_.end()) {
      add(it->second, static_cast<std::int64_t>(length), false);
      continue;
    }
    const bool fallback =
        options_.byte_fallback && std::all_of(character.begin(), character.end(), [this](char c) {
          return fallback_token_[static_cast<unsigned char>(c)] >= 0;
        });
    if (!fallback) {
      add(-1, static_cast<std::int64_t>(length), false);
      continue;
    }
    for (const char c : character) add(fallback_token_[static_cast<unsigned char>(c)], 1, true);
  }
}

void BpeModel::encode_uncached(std::string_view piece, std::vector<BpeToken>& out) const {
  // byte_of_spelled[p]: the byte of the piece whose alphabet spelling holds position p; maps HF's
  // positions (counted in spelling bytes) back to bytes of the piece. Character mode counts bytes.
  std::vector<std::int64_t> byte_of_spelled;
  byte_of_spelled.reserve(piece.size() * 2);
  for (std::size_t k = 0; k < piece.size(); ++k) {
    const int length = options_.byte_level ? spelling_length(static_cast<unsigned char>(piece[k])) : 1;
    for (int j = 0; j < length; ++j) byte_of_spelled.push_back(static_cast<std::int64_t>(k));
  }
  const auto emit = [&](std::int64_t id, std::int64_t spelled_begin, std::int64_t spelled_end) {
    out.push_back({id, byte_of_spelled[spelled_begin], byte_of_spelled[spelled_end - 1]});
  };

  if (options_.ignore_merges) {
    if (const auto whole = options_.byte_level ? find(to_alphabet(piece)) : find(piece)) {
      emit(*whole, 0, static_cast<std::int64_t>(byte_of_spelled.size()));
      return;
    }
  }

  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  const auto add_symbol = [&symbols](std::int64_t id, std::int64_t length) {
    const int index = static_cast<int>(symbols.size());
    symbols.push_back({id, length, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
  };
  std::optional<Symbol> pending_unk;
  for_each_initial_symbol(piece, [&](std::int64_t id, std::int64_t length, bool byte_fallback) {
    if (byte_fallback) {
      // HF adds byte-fallback tokens without emitting a pending unknown first: it comes after
      // them, and every symbol's position is the sum of the lengths before it.
      add_symbol(id, length);
    } else if (id >= 0) {
      if (pending_unk) add_symbol(pending_unk->id, pending_unk->spelled_length);
      pending_unk.reset();
      add_symbol(id, length);
    } else if (options_.unk_id) {
      if (pending_unk && options_.fuse_unk) {
        pending_unk->spelled_length += length;
        return;
      }
      if (pending_unk) add_symbol(pending_unk->id, pending_unk->spelled_length);
      pending_unk = Symbol{*options_.unk_id, length, -1, -1};
    }
    // else: HF with unk_token null drops the byte (or character).
  });
  if (pending_unk) add_symbol(pending_unk->id, pending_unk->spelled_length);

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push_pair = [&](int position) {
    const int next = symbols[position].next;
    if (next < 0) return;
    const auto it = merges_.find(pair_key(symbols[position].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, position, it->second.merged_id});
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.position];
    if (left.spelled_length == 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.merged_id != top.merged_id) continue;
    left.id = top.merged_id;
    left.spelled_length += right.spelled_length;
    right.spelled_length = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.position;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.position);
  }

  std::int64_t position = 0;
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    emit(symbols[i].id, position, position + symbols[i].spelled_length);
    position += symbols[i].spelled_length;
  }
}

}  // namespace remedi::tok
