// Loaders for HF files: tokenizer.json, and the GPT-2 pair vocab.json + merges.txt.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "tok/tokenizer_impl.h"
#include "util/error.h"
#include "util/read_file.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

using nlohmann::json;

Vocab parse_vocab(const json& node, const std::string& path, const std::string& field) {
  if (!node.is_object()) throw Error(path, field, "expected an object of token -> id");
  Vocab vocab;
  vocab.reserve(node.size());
  for (const auto& [token, id] : node.items()) {
    if (!id.is_number_integer()) {
      std::string key = field;
      if (!key.empty()) key += '.';
      key += token;
      throw Error(path, key, "id is not an integer");
    }
    vocab[token] = id.get<std::int64_t>();
  }
  return vocab;
}

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& path,
                                                const std::string& field) {
  const auto space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string::npos) {
    throw Error(path, field, "expected two tokens separated by one space, got \"" + line + "\"");
  }
  return {line.substr(0, space), line.substr(space + 1)};
}

bool flag(const json& node, const char* key, bool fallback, const std::string& path,
          const std::string& field) {
  const auto it = node.find(key);
  if (it == node.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw Error(path, field + "." + key, "expected true or false");
  return it->get<bool>();
}

bool is_null_or_empty_string(const json& node, const char* key) {
  const auto it = node.find(key);
  return it == node.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty());
}

void parse_model(const json& root, const std::string& path, TokenizerParts& parts) {
  const auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object())
    throw Error(path, "model", "missing or not an object");
  const json& model = *model_it;
  if (model.contains("type") && model["type"] != "BPE") {
    throw Error(path, "model.type", "only BPE models are supported, not " + model["type"].dump());
  }
  parts.vocab = parse_vocab(model.value("vocab", json()), path, "model.vocab");
  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array())
    throw Error(path, "model.merges", "missing or not an array");
  parts.merges.reserve(merges->size());
  parts.merges_field = "model.merges";
  for (std::size_t i = 0; i < merges->size(); ++i) {
    const json& merge = (*merges)[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    if (merge.is_string()) {
      parts.merges.push_back(split_merge(merge.get<std::string>(), path, field));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      parts.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw Error(path, field, "expected \"a b\" or [\"a\", \"b\"]");
    }
  }
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0) {
    throw Error(path, "model.dropout", "BPE dropout is not supported");
  }
  parts.bpe_options.byte_fallback = flag(model, "byte_fallback", false, path, "model");
  if (parts.bpe_options.byte_level && parts.bpe_options.byte_fallback) {
    throw Error(path, "model.byte_fallback", "byte_fallback is not supported with a ByteLevel decoder");
  }
  if (!is_null_or_empty_string(model, "continuing_subword_prefix") ||
      !is_null_or_empty_string(model, "end_of_word_suffix")) {
    throw Error(path, "model", "continuing_subword_prefix / end_of_word_suffix are not supported");
  }
  parts.bpe_options.ignore_merges = flag(model, "ignore_merges", false, path, "model");
  parts.bpe_options.fuse_unk = flag(model, "fuse_unk", false, path, "model");
  const auto unk = model.find("unk_token");
  if (unk != model.end() && !unk->is_null()) {
    if (!unk->is_string()) throw Error(path, "model.unk_token", "expected a string");
    const auto it = parts.vocab.find(unk->get<std::string>());
    if (it == parts.vocab.end()) throw Error(path, "model.unk_token", "not in the vocabulary");
    parts.bpe_options.unk_id = it->second;
  }
}

// The decoder decides the kind of BPE: ByteLevel, or SentencePiece's chain of Replace, ByteFallback,
// Fuse and Strip (Gemma, Llama-2, Phi-3).
DecoderSpec parse_decoder(const json& root, const std::string& path) {
  const auto it = root.find("decoder");
  if (it == root.end() || !it->is_object()) throw Error(path, "decoder", "missing or not an object");
  const std::string type = it->value("type", "");
  DecoderSpec spec;
  if (type == "ByteLevel") return spec;
  if (type != "Sequence") {
    throw Error(path, "decoder.type",
                "unsupported decoder \"" + type +
                    "\" (supported: ByteLevel, or a Sequence of Replace, ByteFallback, "
                    "Fuse, Strip)");
  }
  spec.byte_level = false;
  const auto list = it->find("decoders");
  if (list == it->end() || !list->is_array()) throw Error(path, "decoder.decoders", "expected an array");
  bool fused = false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& step = (*list)[i];
    const std::string field = "decoder.decoders[" + std::to_string(i) + "]";
    const std::string step_type = step.is_object() ? step.value("type", "") : "";
    // Steps that act per token must come before Fuse; Strip after it acts on the joined text.
    if (fused && step_type != "Strip") throw Error(path, field, "only Strip may follow Fuse");
    if (step_type == "Replace") {
      const json pattern = step.value("pattern", json());
      if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string() ||
          !step.contains("content") || !step["content"].is_string()) {
        throw Error(path, field, "only Replace of a literal {\"String\": ...} by a string is supported");
      }
      spec.replacements.emplace_back(pattern["String"].get<std::string>(),
                                     step["content"].get<std::string>());
    } else if (step_type == "ByteFallback") {
      spec.byte_fallback = true;
    } else if (step_type == "Fuse") {
      fused = true;
    } else if (step_type == "Strip" && fused) {
      const std::string content = step.value("content", std::string(" "));
      const DecodedCodePoint decoded = content.empty() ? DecodedCodePoint{} : decode_utf8_at(content, 0);
      if (content.empty() || !decoded.valid || static_cast<std::size_t>(decoded.length) != content.size() ||
          !step.value("start", json(0)).is_number_unsigned() ||
          !step.value("stop", json(0)).is_number_unsigned()) {
        throw Error(path, field, "expected {\"content\": one character, \"start\": n, \"stop\": n}");
      }
      spec.strip_content = decoded.code_point;
      spec.strip_start = step.value("start", std::size_t{0});
      spec.strip_stop = step.value("stop", std::size_t{0});
    } else {
      throw Error(path, field + ".type",
                  "unsupported decoder step \"" + step_type +
                      "\" (supported: Replace, ByteFallback, Fuse, Strip after Fuse)");
    }
  }
  return spec;
}

// HF's TemplateProcessing: the SpecialToken pieces of the "single" template before and after its one
// Sequence piece are the ids added around a text. Its type_ids never reach a causal LM, and "pair" (two
// texts in one input) is never used here, so both are left unread.
void parse_template(const json& node, const std::string& path, const std::string& field,
                    SpecialTemplate& out) {
  if (!out.field.empty()) throw Error(path, field, "a second TemplateProcessing is not supported");
  const std::string single_field = field + ".single";
  const std::string specials_field = field + ".special_tokens";
  const auto single = node.find("single");
  if (single == node.end() || !single->is_array())
    throw Error(path, single_field, "expected an array of pieces");
  const auto specials = node.find("special_tokens");
  if (specials == node.end() || !specials->is_object()) {
    throw Error(path, specials_field, "expected an object of name -> {\"ids\": [...], ...}");
  }
  bool after_sequence = false;
  for (std::size_t i = 0; i < single->size(); ++i) {
    const json& piece = (*single)[i];
    const std::string piece_field = single_field + "[" + std::to_string(i) + "]";
    if (!piece.is_object() || piece.size() != 1 ||
        (!piece.contains("Sequence") && !piece.contains("SpecialToken"))) {
      throw Error(path, piece_field, "expected {\"SpecialToken\": {...}} or {\"Sequence\": {...}}");
    }
    if (piece.contains("Sequence")) {
      const json& sequence = piece["Sequence"];
      if (!sequence.is_object() || sequence.value("id", json()) != "A") {
        throw Error(path, piece_field + ".Sequence.id", "expected \"A\" (the single template's one text)");
      }
      if (after_sequence) throw Error(path, piece_field, "a second Sequence piece in the single template");
      after_sequence = true;
      continue;
    }
    const json& special = piece["SpecialToken"];
    const json name = special.is_object() ? special.value("id", json()) : json();
    if (!name.is_string()) throw Error(path, piece_field + ".SpecialToken.id", "expected a string");
    const auto entry = specials->find(name.get<std::string>());
    if (entry == specials->end()) {
      throw Error(path, piece_field + ".SpecialToken.id",
                  "\"" + name.get<std::string>() + "\" is not in " + specials_field);
    }
    const std::string ids_field = specials_field + "." + name.get<std::string>() + ".ids";
    const json ids = entry->is_object() ? entry->value("ids", json()) : json();
    if (!ids.is_array()) throw Error(path, ids_field, "expected an array of token ids");
    for (const json& id : ids) {
      if (!id.is_number_integer()) throw Error(path, ids_field, "expected an array of token ids");
      (after_sequence ? out.suffix : out.prefix).push_back(id.get<std::int64_t>());
    }
  }
  if (!after_sequence) throw Error(path, single_field, "no {\"Sequence\": {\"id\": \"A\"}} piece");
  out.field = single_field;
}

void parse_processor(const json& node, const std::string& path, const std::string& field,
                     OffsetTrimming& trimming, SpecialTemplate& specials) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "ByteLevel") {
    trimming.enabled = flag(node, "trim_offsets", true, path, field);
    trimming.add_prefix_space = flag(node, "add_prefix_space", true, path, field);
  } else if (type == "Sequence") {
    const auto list = node.find("processors");
    if (list == node.end() || !list->is_array())
      throw Error(path, field + ".processors", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      parse_processor((*list)[i], path, field + ".processors[" + std::to_string(i) + "]", trimming, specials);
    }
  } else if (type == "TemplateProcessing") {
    parse_template(node, path, field, specials);
  } else {
    throw Error(path, field + ".type", "unsupported post-processor \"" + type + "\"");
  }
}

std::vector<AddedToken> parse_added_tokens(const json& root, const std::string& path) {
  std::vector<AddedToken> tokens;
  const auto list = root.find("added_tokens");
  if (list == root.end() || list->is_null()) return tokens;
  if (!list->is_array()) throw Error(path, "added_tokens", "expected an array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() ||
        !entry.contains("content") || !entry["content"].is_string()) {
      throw Error(path, field, "expected {\"id\": integer, \"content\": string, ...}");
    }
    if (flag(entry, "single_word", false, path, field)) {
      throw Error(path, field + ".single_word", "single_word added tokens are not supported");
    }
    AddedToken token;
    token.id = entry["id"].get<std::int64_t>();
    token.content = entry["content"].get<std::string>();
    token.special = flag(entry, "special", false, path, field);
    token.lstrip = flag(entry, "lstrip", false, path, field);
    token.rstrip = flag(entry, "rstrip", false, path, field);
    token.normalized = flag(entry, "normalized", !token.special, path, field);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// Name of a special token in tokenizer_config.json / special_tokens_map.json: a string or
// {"content": string}.
std::string special_token_name(const json& config, const char* key) {
  const auto it = config.find(key);
  if (it == config.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return "";
}

// BOS/EOS/PAD live beside the tokenizer files in HF folders; without them, <|endoftext|> (GPT-2,
// GPT-J, NeoX) is both BOS and EOS.
SpecialIds find_special_ids(const std::filesystem::path& folder, const TokenizerParts& parts) {
  const auto id_of = [&parts](const std::string& name) -> std::int64_t {
    if (name.empty()) return -1;
    for (const AddedToken& token : parts.added_tokens) {
      if (token.content == name) return token.id;
    }
    const auto it = parts.vocab.find(name);
    return it == parts.vocab.end() ? -1 : it->second;
  };
  SpecialIds ids;
  for (const char* file : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const auto path = folder / file;
    if (!std::filesystem::exists(path)) continue;
    const json config = read_json_file(path.string());
    if (!config.is_object()) throw Error(path.string(), "", "expected a JSON object");
    if (ids.bos < 0) ids.bos = id_of(special_token_name(config, "bos_token"));
    if (ids.eos < 0) ids.eos = id_of(special_token_name(config, "eos_token"));
    if (ids.pad < 0) ids.pad = id_of(special_token_name(config, "pad_token"));
  }
  const std::int64_t end_of_text = id_of("<|endoftext|>");
  if (ids.bos < 0) ids.bos = end_of_text;
  if (ids.eos < 0) ids.eos = end_of_text;
  return ids;
}

// HF's Metaspace pre-tokenizer (Llama-2-style files converted by recent transformers): its space
// replacement and prefix act on the text like normalizer steps run after the normalizer, then an
// optional split before each replacement character.
void parse_metaspace(const json& node, const std::string& path, TokenizerParts& parts) {
  if (parts.decoder.byte_level) throw Error(path, "pre_tokenizer", "Metaspace needs a SentencePiece decoder");
  const json replacement = node.value("replacement", json("\u2581"));
  if (!replacement.is_string() || replacement.get<std::string>().empty() ||
      static_cast<std::size_t>(decode_utf8_at(replacement.get<std::string>(), 0).length) !=
          replacement.get<std::string>().size()) {
    throw Error(path, "pre_tokenizer.replacement", "expected one character");
  }
  std::string scheme = "always";
  if (const auto it = node.find("prepend_scheme"); it != node.end() && !it->is_null()) {
    if (!it->is_string()) throw Error(path, "pre_tokenizer.prepend_scheme", "expected a string");
    scheme = it->get<std::string>();
  } else if (!flag(node, "add_prefix_space", true, path, "pre_tokenizer")) {
    scheme = "never";  // files written before prepend_scheme existed
  }
  if (scheme != "always" && scheme != "first" && scheme != "never") {
    throw Error(path, "pre_tokenizer.prepend_scheme",
                "expected \"always\", \"first\" or \"never\", not \"" + scheme + "\"");
  }
  parts.normalizer.add_metaspace(replacement.get<std::string>(),
                                 scheme == "always"  ? Normalizer::MetaspacePrepend::Always
                                 : scheme == "first" ? Normalizer::MetaspacePrepend::First
                                                     : Normalizer::MetaspacePrepend::Never);
  parts.pre_tokenizer =
      std::make_unique<PreTokenizer>(flag(node, "split", true, path, "pre_tokenizer")
                                         ? PreTokenizer::metaspace_split(replacement.get<std::string>(), path)
                                         : PreTokenizer::none());
}

}  // namespace

Tokenizer Tokenizer::from_hf_json(const std::string& tokenizer_json_path) {
  const std::string& path = tokenizer_json_path;
  const json root = read_json_file(path);
  if (!root.is_object()) throw Error(path, "", "expected a JSON object");
  TokenizerParts parts;
  parts.source = path;
  parts.decoder = parse_decoder(root, path);
  parts.bpe_options.byte_level = parts.decoder.byte_level;
  parse_model(root, path, parts);
  parts.normalizer = Normalizer::from_json(root.value("normalizer", json()), path);
  const Normalizer file_normalizer = parts.normalizer;  // before Metaspace adds its steps
  const auto pre = root.find("pre_tokenizer");
  if (pre != root.end() && pre->is_object() && pre->value("type", "") == "Metaspace") {
    parse_metaspace(*pre, path, parts);
  } else if (pre != root.end() && !pre->is_null()) {
    parts.pre_tokenizer =
        std::make_unique<PreTokenizer>(PreTokenizer::from_json(*pre, path, parts.decoder.byte_level));
  } else if (!parts.decoder.byte_level) {
    parts.pre_tokenizer = std::make_unique<PreTokenizer>(PreTokenizer::none());
  } else {
    throw Error(path, "pre_tokenizer", "missing: a byte-level BPE needs a ByteLevel pre-tokenizer");
  }
  if (root.contains("post_processor"))
    parse_processor(root["post_processor"], path, "post_processor", parts.trimming, parts.specials_added);
  if (parts.trimming.enabled && !parts.decoder.byte_level) {
    throw Error(path, "post_processor", "offset trimming (ByteLevel trim_offsets) needs a ByteLevel decoder");
  }
  parts.added_tokens = parse_added_tokens(root, path);
  // Tokens with normalized=true are matched in the raw text (AddedTokenMatcher), which is only
  // what HF does when the normalizer leaves them unchanged.
  for (std::size_t i = 0; i < parts.added_tokens.size(); ++i) {
    const AddedToken& token = parts.added_tokens[i];
    if (token.normalized && file_normalizer.apply(token.content) != token.content) {
      throw Error(path, "added_tokens[" + std::to_string(i) + "]",
                  "a normalized added token that the normalizer changes is not supported");
    }
  }
  parts.special = find_special_ids(std::filesystem::path(path).parent_path(), parts);
  return Tokenizer(std::make_unique<Impl>(std::move(parts)));
}

Tokenizer Tokenizer::from_vocab_merges(const std::string& vocab_json_path,
                                       const std::string& merges_txt_path) {
  TokenizerParts parts;
  parts.source = merges_txt_path;
  parts.merges_field = "merges";  // 0-based index of the merge (lines minus the #version header)
  parts.vocab = parse_vocab(read_json_file(vocab_json_path), vocab_json_path, "");
  std::istringstream lines(read_text_file(merges_txt_path));
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    parts.merges.push_back(split_merge(line, merges_txt_path, "line " + std::to_string(number)));
  }
  parts.pre_tokenizer = std::make_unique<PreTokenizer>(PreTokenizer::gpt2());
  // The GPT-2 files carry no added-token list; transformers treats <|endoftext|> as special.
  if (const auto it = parts.vocab.find("<|endoftext|>"); it != parts.vocab.end()) {
    parts.added_tokens.push_back({it->second, "<|endoftext|>", true, false, false, false});
  }
  parts.special = find_special_ids(std::filesystem::path(vocab_json_path).parent_path(), parts);
  return Tokenizer(std::make_unique<Impl>(std::move(parts)));
}

}  // namespace remedi::tok
