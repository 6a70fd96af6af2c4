#include "tok/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include <utility>

#include "util/error.h"

namespace remedi::tok {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Llama-3's split pattern (tokenizer.json of Meta-Llama-3; llama.cpp pre "llama-bpe").
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen2's (Qwen2, Qwen2.5, Qwen3 tokenizer.json; llama.cpp pre "qwen2"): Llama-3's with single digits.
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// HF Digits splits on Rust's char::is_numeric, i.e. general categories Nd, Nl and No.
const char* const kNumericPattern = R"(\p{N})";

// The tokenizer splits raw bytes: invalid UTF-8 is allowed there and never matches.
Regex split_regex(std::string_view pattern, bool literal, const std::string& source,
                  const std::string& field) {
  return Regex(pattern, source, field, {.literal = literal, .invalid_utf8_never_matches = true});
}

struct Span {
  std::size_t begin;
  std::size_t end;
  bool is_match;
};

// The pieces HF keeps from `spans` (which tile the piece) under a delimiter behaviour.
std::vector<Span> apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior) {
  std::vector<Span> out;
  out.reserve(spans.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::Removed:
      for (const Span& span : spans) {
        if (!span.is_match) out.push_back(span);
      }
      return out;
    case SplitBehavior::Isolated:
      return spans;
    case SplitBehavior::MergedWithPrevious:
      for (const Span& span : spans) {
        if (span.is_match && !previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = span.is_match;
      }
      return out;
    case SplitBehavior::MergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    case SplitBehavior::Contiguous:
      for (const Span& span : spans) {
        if (span.is_match == previous_match && !out.empty()) {
          out.back().end = span.end;
        } else {
          out.push_back(span);
        }
        previous_match = span.is_match;
      }
      return out;
  }
  return out;
}

SplitBehavior parse_behavior(const nlohmann::json& value, const std::string& source,
                             const std::string& field) {
  if (!value.is_string()) throw Error(source, field, "expected a string");
  const auto name = value.get<std::string>();
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  throw Error(source, field, "unknown split behavior \"" + name + "\"");
}

bool bool_field(const nlohmann::json& node, const char* key, bool fallback, const std::string& source,
                const std::string& field) {
  const auto it = node.find(key);
  if (it == node.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(source, field + "." + key, "expected true or false");
  return it->get<bool>();
}

}  // namespace

PreTokenizer PreTokenizer::gpt2() {
  PreTokenizer pre;
  pre.add_split(split_regex(kGpt2Pattern, false, "<built-in>", "gpt2 pattern"), SplitBehavior::Isolated,
                false);
  return pre;
}

PreTokenizer PreTokenizer::metaspace_split(const std::string& replacement, const std::string& source) {
  PreTokenizer pre;
  pre.add_split(split_regex(replacement, true, source, "pre_tokenizer.replacement"),
                SplitBehavior::MergedWithNext, false);
  return pre;
}

PreTokenizer PreTokenizer::from_gguf_name(const std::string& name, const std::string& source) {
  PreTokenizer pre;
  if (name == "default" || name == "gpt-2" || name == "gpt2") return gpt2();
  if (name == "smollm") {
    pre.add_split(split_regex(kNumericPattern, false, source, "digits"), SplitBehavior::Isolated, false);
    pre.add_split(split_regex(kGpt2Pattern, false, source, "gpt2 pattern"), SplitBehavior::Isolated, false);
    return pre;
  }
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3") {
    pre.add_split(split_regex(kLlama3Pattern, false, source, "llama3 pattern"), SplitBehavior::Isolated,
                  false);
    return pre;
  }
  if (name == "qwen2") {
    pre.add_split(split_regex(kQwen2Pattern, false, source, "qwen2 pattern"), SplitBehavior::Isolated, false);
    return pre;
  }
  throw Error(source, "tokenizer.ggml.pre",
              "unsupported pre-tokenizer \"" + name +
                  "\" (supported: default, gpt-2, smollm, llama-bpe, llama3, llama-v3, qwen2)");
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& node, const std::string& source, bool byte_level) {
  PreTokenizer pre;
  bool byte_level_seen = false;
  pre.parse_node(node, source, "pre_tokenizer", byte_level_seen);
  if (!byte_level && byte_level_seen) {
    throw Error(source, "pre_tokenizer", "a ByteLevel step needs a ByteLevel decoder");
  }
  if (byte_level && !byte_level_seen) {
    throw Error(source, "pre_tokenizer", "a byte-level BPE needs a ByteLevel pre-tokenizer step");
  }
  return pre;
}

void PreTokenizer::add_split(Regex regex, SplitBehavior behavior, bool invert) {
  steps_.push_back(Step{std::move(regex), behavior, invert});
}

void PreTokenizer::parse_node(const nlohmann::json& node, const std::string& source, const std::string& field,
                              bool& byte_level_seen) {
  if (!node.is_object()) throw Error(source, field, "expected an object");
  const auto type_it = node.find("type");
  if (type_it == node.end() || !type_it->is_string())
    throw Error(source, field + ".type", "missing or not a string");
  const auto type = type_it->get<std::string>();
  // Splits after ByteLevel would see the alphabet spelling instead of the text; no byte-level
  // model does that, so it is refused rather than emulated.
  if (byte_level_seen) throw Error(source, field, "a " + type + " step after ByteLevel is not supported");
  if (type == "Sequence") {
    const auto list = node.find("pretokenizers");
    if (list == node.end() || !list->is_array())
      throw Error(source, field + ".pretokenizers", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      parse_node((*list)[i], source, field + ".pretokenizers[" + std::to_string(i) + "]", byte_level_seen);
    }
  } else if (type == "ByteLevel") {
    if (bool_field(node, "add_prefix_space", false, source, field)) {
      throw Error(source, field + ".add_prefix_space", "add_prefix_space=true is not supported");
    }
    // trim_offsets on the pre-tokenizer has no effect in HF (only the post-processor trims).
    bool_field(node, "trim_offsets", true, source, field);
    if (bool_field(node, "use_regex", true, source, field)) {
      add_split(split_regex(kGpt2Pattern, false, source, field), SplitBehavior::Isolated, false);
    }
    byte_level_seen = true;
  } else if (type == "Digits") {
    const bool individual = bool_field(node, "individual_digits", false, source, field);
    add_split(split_regex(kNumericPattern, false, source, field),
              individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false);
  } else if (type == "Split") {
    const auto pattern = node.find("pattern");
    if (pattern == node.end() || !pattern->is_object() || pattern->size() != 1) {
      throw Error(source, field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const bool literal = pattern->begin().key() == "String";
    if ((!literal && pattern->begin().key() != "Regex") || !pattern->begin().value().is_string()) {
      throw Error(source, field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const auto behavior = node.find("behavior");
    if (behavior == node.end()) throw Error(source, field + ".behavior", "missing");
    add_split(split_regex(pattern->begin().value().get<std::string>(), literal, source, field + ".pattern"),
              parse_behavior(*behavior, source, field + ".behavior"),
              bool_field(node, "invert", false, source, field));
  } else {
    throw Error(source, field + ".type",
                "unsupported pre-tokenizer \"" + type + "\" (supported: Sequence, Split, Digits, ByteLevel)");
  }
}

void PreTokenizer::split(std::string_view text, std::size_t begin, std::size_t end,
                         std::vector<Piece>& pieces) const {
  std::vector<Piece> current{{begin, end}};
  std::vector<Piece> next;
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  std::vector<Span> spans;
  for (const Step& step : steps_) {
    next.clear();
    for (const Piece& piece : current) {
      matches.clear();
      step.regex.find_all_spans(text.substr(piece.begin, piece.end - piece.begin), matches);
      // Tile the piece with alternating gaps and matches, as HF's find_matches does.
      spans.clear();
      std::size_t cursor = piece.begin;
      for (const auto& [match_begin, match_end] : matches) {
        const std::size_t absolute_begin = piece.begin + match_begin;
        if (absolute_begin > cursor) spans.push_back({cursor, absolute_begin, step.invert});
        spans.push_back({absolute_begin, piece.begin + match_end, !step.invert});
        cursor = piece.begin + match_end;
      }
      if (cursor < piece.end) spans.push_back({cursor, piece.end, step.invert});
      for (const Span& span : apply_behavior(spans, step.behavior)) {
        if (span.end > span.begin) next.push_back({span.begin, span.end});
      }
    }
    current.swap(next);
  }
  for (const Piece& piece : current) {
    if (piece.end > piece.begin) pieces.push_back(piece);
  }
}

}  // namespace remedi::tok
