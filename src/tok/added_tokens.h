// Added tokens (tokenizer.json "added_tokens"; GGUF control and user-defined tokens): matched
// literally in the raw text before pre-tokenization, as HF's AddedVocabulary does: leftmost match
// first, the longest token at that position, then optional stripping of neighbouring whitespace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::tok {

struct AddedToken {
  std::int64_t id = 0;
  std::string content;
  bool special = false;     // dropped by decode(skip_special_tokens)
  bool lstrip = false;      // the match absorbs whitespace on its left
  bool rstrip = false;      // ... and on its right
  bool normalized = false;  // HF matches these in a second pass, after the others
};

struct Segment {
  std::size_t begin = 0;  // bytes
  std::size_t end = 0;
  std::int64_t added_id = -1;  // -1: ordinary text to pre-tokenize
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  // Cuts `text` into ordinary segments and added-token matches, in order.
  std::vector<Segment> split(std::string_view text) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Group {
    std::vector<std::size_t> indices;  // into tokens_, longest content first
    std::array<bool, 256> first_bytes{};
  };
  // Matches of one group of tokens inside text[segment] (HF's find_matches).
  void split_group(std::string_view text, const Segment& segment, const Group& group,
                   std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  Group raw_group_;         // matched on the raw text
  Group normalized_group_;  // matched afterwards in what is left
};

}  // namespace remedi::tok
