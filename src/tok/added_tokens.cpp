#include "tok/added_tokens.h"

#include <algorithm>

#include "util/utf8.h"

namespace remedi::tok {

namespace {

// Start of the run of whitespace that ends `text` (text.size() if there is none).
std::size_t trailing_space_start(std::string_view text) {
  std::size_t start = text.size();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    const bool space = decoded.valid && is_white_space(decoded.code_point);
    if (!space) start = text.size();
    if (space && start == text.size()) start = pos;
    pos += decoded.length;
  }
  return start;
}

// Byte length of the run of whitespace that starts `text`.
std::size_t leading_space_length(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(text, pos);
    if (!decoded.valid || !is_white_space(decoded.code_point)) break;
    pos += decoded.length;
  }
  return pos;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;
    Group& group = tokens_[i].normalized ? normalized_group_ : raw_group_;
    group.indices.push_back(i);
    group.first_bytes[static_cast<unsigned char>(tokens_[i].content[0])] = true;
  }
  const auto longest_first = [this](std::size_t a, std::size_t b) {
    return tokens_[a].content.size() > tokens_[b].content.size();
  };
  std::stable_sort(raw_group_.indices.begin(), raw_group_.indices.end(), longest_first);
  std::stable_sort(normalized_group_.indices.begin(), normalized_group_.indices.end(), longest_first);
}

std::vector<Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> first_pass;
  split_group(text, {0, text.size(), -1}, raw_group_, first_pass);
  if (normalized_group_.indices.empty()) return first_pass;
  std::vector<Segment> out;
  for (const Segment& segment : first_pass) {
    if (segment.added_id >= 0) {
      out.push_back(segment);
    } else {
      split_group(text, segment, normalized_group_, out);
    }
  }
  return out;
}

void AddedTokenMatcher::split_group(std::string_view text, const Segment& segment, const Group& group,
                                    std::vector<Segment>& out) const {
  const std::string_view sentence = text.substr(segment.begin, segment.end - segment.begin);
  std::size_t consumed = 0;  // HF's start_offset: end of the previous match, after stripping
  std::size_t search = 0;    // where the literal search resumes: end of the previous raw match
  while (search < sentence.size() && !group.indices.empty()) {
    std::size_t match_begin = sentence.size();
    const AddedToken* match = nullptr;
    for (std::size_t pos = search; pos < sentence.size() && match == nullptr; ++pos) {
      if (!group.first_bytes[static_cast<unsigned char>(sentence[pos])]) continue;
      for (const std::size_t index : group.indices) {
        if (sentence.compare(pos, tokens_[index].content.size(), tokens_[index].content) == 0) {
          match = &tokens_[index];
          match_begin = pos;
          break;
        }
      }
    }
    if (match == nullptr) break;
    std::size_t start = match_begin;
    std::size_t stop = match_begin + match->content.size();
    search = stop;
    if (match->lstrip) start = std::max(trailing_space_start(sentence.substr(0, start)), consumed);
    if (match->rstrip) stop += leading_space_length(sentence.substr(stop));
    if (consumed < start) out.push_back({segment.begin + consumed, segment.begin + start, -1});
    out.push_back({segment.begin + start, segment.begin + stop, match->id});
    consumed = stop;
  }
  if (consumed < sentence.size()) out.push_back({segment.begin + consumed, segment.end, -1});
}

}  // namespace remedi::tok
