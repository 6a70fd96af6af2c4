// Loader for the tokenizer stored in GGUF metadata (llama.cpp's tokenizer.ggml.* keys).
//
// "gpt2" (byte-level BPE) is built the way transformers builds it from a GGUF, except that the
// pre-tokenizer follows tokenizer.ggml.pre (transformers ignores "smollm" and splits digits like
// GPT-2) and that Llama-3's pre-tokenizer names turn on ignore_merges, as llama.cpp does.
//
// "llama" (SentencePiece: Llama-2, Gemma, Phi-3) tokenizes as llama.cpp does: spaces become "▁"
// (with one in front of the text and after each added token when add_space_prefix), then the
// adjacent pair whose concatenation is a token of the highest score is merged, leftmost on ties,
// until none is left; characters that are not tokens become their <0xNN> byte tokens. That is the
// BPE engine with one merge per way of cutting a token in two tokens, ranked by the score of the
// token they make (equal scores share a rank, so ties go leftmost as in llama.cpp). See
// docs/TOKENIZER.md for where this differs from transformers.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "tok/byte_alphabet.h"
#include "tok/tokenizer_impl.h"
#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

// llama.cpp's token types (tokenizer.ggml.token_type); 0 is "undefined".
constexpr std::int64_t kUnknownToken = 2;
constexpr std::int64_t kControlToken = 3;
constexpr std::int64_t kUserDefinedToken = 4;
constexpr std::int64_t kByteToken = 6;

// A special token's id, `fallback` (-1: none) when the key is absent; an id outside the vocabulary is
// refused (it would be emitted or compared against as if it were a token).
std::int64_t optional_id(const io::GgufFile& gguf, const std::string& key, std::size_t vocab_size,
                         std::int64_t fallback = -1) {
  if (!gguf.has(key)) return static_cast<std::uint64_t>(fallback) < vocab_size ? fallback : -1;
  const std::int64_t id = gguf.get_int(key);
  if (id < 0 || static_cast<std::uint64_t>(id) >= vocab_size) {
    throw Error(
        gguf.path(), key,
        "token id " + std::to_string(id) + " is not among the " + std::to_string(vocab_size) + " tokens");
  }
  return id;
}

// The ids llama.cpp adds around a text: tokenizer.ggml.add_bos_token / add_eos_token, or when absent
// llama.cpp's defaults, a BOS for SentencePiece ("llama") vocabularies and for Llama-3-style byte-level
// ones (pre "llama-bpe", "llama3", "llama-v3"), nothing for other byte-level ones (GPT-2, SmolLM2,
// Qwen2), never an EOS. A default without the token's id adds nothing; a key saying true does not.
SpecialTemplate added_specials(const io::GgufFile& gguf, const std::string& model, const std::string& pre,
                               const SpecialIds& ids) {
  const bool default_bos = model == "llama" || pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
  SpecialTemplate out;
  for (const bool bos : {true, false}) {
    const std::string key = bos ? "tokenizer.ggml.add_bos_token" : "tokenizer.ggml.add_eos_token";
    const std::int64_t id = bos ? ids.bos : ids.eos;
    const bool add = gguf.has(key) ? gguf.get_bool(key) : bos && default_bos && id >= 0;
    if (!add) continue;
    out.field = key;
    if (id < 0) {
      throw Error(gguf.path(), key,
                  std::string("true, but tokenizer.ggml.") + (bos ? "bos" : "eos") + "_token_id is absent");
    }
    (bos ? out.prefix : out.suffix).push_back(id);
  }
  return out;
}

// tokenizer.ggml.token_type, one per token; empty when the key is absent.
std::vector<std::int64_t> token_types(const io::GgufFile& gguf, std::size_t token_count) {
  if (!gguf.has("tokenizer.ggml.token_type")) return {};
  std::vector<std::int64_t> types = gguf.get_int_array("tokenizer.ggml.token_type");
  if (types.size() != token_count) {
    throw Error(gguf.path(), "tokenizer.ggml.token_type",
                std::to_string(types.size()) + " types for " + std::to_string(token_count) + " tokens");
  }
  return types;
}

void load_byte_level(const io::GgufFile& gguf, const std::vector<std::string>& tokens,
                     const std::vector<std::int64_t>& types, TokenizerParts& parts) {
  const std::string& path = gguf.path();
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
}

// The merges of a SentencePiece vocabulary: every cut of a token into two tokens, ranked by the
// token's score, best first. Byte tokens are never a side: llama.cpp only turns a character into
// bytes after merging, so a fallback byte never merges.
void derive_sentencepiece_merges(const std::vector<double>& scores, const std::vector<std::int64_t>& types,
                                 TokenizerParts& parts) {
  const auto is_byte = [&types](std::int64_t id) {
    return !types.empty() && types[static_cast<std::size_t>(id)] == kByteToken;
  };
  std::vector<std::int64_t> made;  // the token each merge makes
  for (const auto& [spelling, id] : parts.vocab) {
    const std::string_view whole = spelling;
    for (std::size_t cut = decode_utf8_at(whole, 0).length; cut < whole.size();
         cut += decode_utf8_at(whole, cut).length) {
      const auto left = parts.vocab.find(whole.substr(0, cut));
      const auto right = parts.vocab.find(whole.substr(cut));
      if (left == parts.vocab.end() || right == parts.vocab.end()) continue;
      if (is_byte(left->second) || is_byte(right->second)) continue;
      parts.merges.emplace_back(left->first, right->first);
      made.push_back(id);
    }
  }
  std::vector<double> distinct;
  distinct.reserve(made.size());
  for (const std::int64_t id : made) distinct.push_back(scores[static_cast<std::size_t>(id)]);
  std::sort(distinct.begin(), distinct.end(), std::greater<>());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  parts.merge_ranks.reserve(made.size());
  for (const std::int64_t id : made) {
    const auto at = std::lower_bound(distinct.begin(), distinct.end(), scores[static_cast<std::size_t>(id)],
                                     std::greater<>());
    parts.merge_ranks.push_back(static_cast<std::int32_t>(at - distinct.begin()));
  }
}

void load_sentencepiece(const io::GgufFile& gguf, std::vector<std::string> tokens,
                        const std::vector<std::int64_t>& types, TokenizerParts& parts) {
  const std::string& path = gguf.path();
  std::vector<double> scores(tokens.size(), 0.0);  // llama.cpp's default without the key
  if (gguf.has("tokenizer.ggml.scores")) {
    scores = gguf.get_float_array("tokenizer.ggml.scores");
    if (scores.size() != tokens.size()) {
      throw Error(path, "tokenizer.ggml.scores",
                  std::to_string(scores.size()) + " scores for " + std::to_string(tokens.size()) + " tokens");
    }
  }
  std::int64_t first_unknown = -1;
  parts.vocab.reserve(tokens.size());
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    const std::string index = "[" + std::to_string(id) + "]";
    if (std::isnan(scores[id])) throw Error(path, "tokenizer.ggml.scores" + index, "not a number");
    // llama.cpp's name for an empty token (an empty string could not be matched or merged).
    if (tokens[id].empty()) tokens[id] = "[EMPTY_" + std::to_string(id) + "]";
    const std::int64_t type = types.empty() ? 1 : types[id];
    if (type < 0 || type > kByteToken) {
      throw Error(path, "tokenizer.ggml.token_type" + index,
                  "unknown token type " + std::to_string(type) + " (llama.cpp's types are 0 to 6)");
    }
    if (type == kByteToken && !fallback_byte(tokens[id])) {
      throw Error(path, "tokenizer.ggml.tokens" + index,
                  "a byte token (token_type 6) must be spelled <0xNN>, not \"" + tokens[id] + "\"");
    }
    // A repeated spelling names its last id, as in llama.cpp's map.
    parts.vocab[tokens[id]] = static_cast<std::int64_t>(id);
    // llama.cpp matches these whole in the text before tokenizing the rest (control and unknown
    // ones when it parses special tokens, which is what transformers always does).
    if (type == kControlToken || type == kUnknownToken || type == kUserDefinedToken) {
      parts.added_tokens.push_back(
          {static_cast<std::int64_t>(id), tokens[id], type != kUserDefinedToken, false, false, false});
    }
    if (type == kUnknownToken && first_unknown < 0) first_unknown = static_cast<std::int64_t>(id);
  }
  derive_sentencepiece_merges(scores, types, parts);
  parts.merges_field = "tokenizer.ggml.tokens";

  const bool add_space_prefix =
      gguf.has("tokenizer.ggml.add_space_prefix") ? gguf.get_bool("tokenizer.ggml.add_space_prefix") : true;
  // The normalizers of the same vocabulary's tokenizer.json: a "▁" in front of every segment
  // between added tokens (llama.cpp's space before the text and after each added token), then
  // every space as "▁".
  nlohmann::json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "▁"}};
  nlohmann::json normalizer = replace;
  if (add_space_prefix) {
    normalizer = {{"type", "Sequence"},
                  {"normalizers", nlohmann::json::array({{{"type", "Prepend"}, {"prepend", "▁"}}, replace})}};
  }
  parts.normalizer = Normalizer::from_json(normalizer, path);
  parts.pre_tokenizer = std::make_unique<PreTokenizer>(PreTokenizer::none());
  parts.bpe_options.byte_level = false;
  parts.bpe_options.byte_fallback = true;
  // A character with neither a token nor every byte token (llama.cpp stops there) becomes the
  // unknown token, runs of them one, as transformers does for these vocabularies.
  const std::int64_t unknown = optional_id(gguf, "tokenizer.ggml.unknown_token_id", tokens.size());
  if (unknown >= 0 || first_unknown >= 0) parts.bpe_options.unk_id = unknown >= 0 ? unknown : first_unknown;
  parts.bpe_options.fuse_unk = true;
  parts.decoder.byte_level = false;
  parts.decoder.replacements = {{"▁", " "}};
  parts.decoder.byte_fallback = true;
  parts.decoder.strip_start = add_space_prefix ? 1 : 0;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const io::GgufFile& gguf) {
  const std::string& path = gguf.path();
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model != "gpt2" && model != "llama") {
    throw Error(path, "tokenizer.ggml.model",
                "unsupported tokenizer model \"" + model +
                    "\" (supported: \"gpt2\", byte-level BPE, and \"llama\", SentencePiece)");
  }
  TokenizerParts parts;
  parts.source = path;
  std::vector<std::string> tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  const std::vector<std::int64_t> types = token_types(gguf, tokens.size());
  const std::size_t token_count = tokens.size();
  if (model == "gpt2") {
    load_byte_level(gguf, tokens, types, parts);
  } else {
    load_sentencepiece(gguf, std::move(tokens), types, parts);
  }
  // Without the keys, llama.cpp takes <s> = 1 and </s> = 2 for a SentencePiece vocabulary (its
  // llama_vocab::load); a byte-level one has none.
  const bool sentencepiece = model == "llama";
  parts.special.bos = optional_id(gguf, "tokenizer.ggml.bos_token_id", token_count, sentencepiece ? 1 : -1);
  parts.special.eos = optional_id(gguf, "tokenizer.ggml.eos_token_id", token_count, sentencepiece ? 2 : -1);
  parts.special.pad = optional_id(gguf, "tokenizer.ggml.padding_token_id", token_count);
  const std::string pre = gguf.has("tokenizer.ggml.pre") ? gguf.get_string("tokenizer.ggml.pre") : "default";
  parts.specials_added = added_specials(gguf, model, pre, parts.special);
  return Tokenizer(std::make_unique<Impl>(std::move(parts)));
}

}  // namespace remedi::tok
