#include "tok/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/gguf.h"
#include "tok/byte_alphabet.h"
#include "tok/tokenizer_impl.h"
#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

// HF's ByteLevel decoder: a token spelled in the byte alphabet stands for those bytes; any other
// token (an added token such as "<pad>" with a character outside the alphabet) for its own UTF-8.
std::string bytes_of_spelling(const std::string& spelling) {
  if (auto raw = from_alphabet(spelling)) return std::move(*raw);
  return spelling;
}

// Leading (or trailing) characters that HF's offset trimming counts as spaces.
std::int64_t count_edge_spaces(const std::string& spelling, bool trailing) {
  std::vector<char32_t> code_points;
  for (std::size_t pos = 0; pos < spelling.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(spelling, pos);
    code_points.push_back(decoded.valid ? decoded.code_point : 0);
    pos += decoded.length;
  }
  if (trailing) std::reverse(code_points.begin(), code_points.end());
  const char32_t space = byte_to_alphabet(' ');
  std::int64_t count = 0;
  for (const char32_t c : code_points) {
    if (c != space && !is_white_space(c)) break;
    ++count;
  }
  return count;
}

std::string replace_all_literal(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// A SentencePiece decoder's text of one token on its own.
std::string sentencepiece_bytes(const std::string& spelling, const DecoderSpec& decoder) {
  if (decoder.byte_fallback) {
    if (const auto byte = fallback_byte(spelling)) return std::string(1, static_cast<char>(*byte));
  }
  std::string text = spelling;
  for (const auto& [from, to] : decoder.replacements) text = replace_all_literal(std::move(text), from, to);
  return text;
}

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t pos = 0; pos < bytes.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(bytes, pos);
    if (!decoded.valid) return false;
    pos += decoded.length;
  }
  return true;
}

}  // namespace

std::optional<unsigned char> fallback_byte(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
  int value = 0;
  for (const char c : token.substr(3, 2)) {
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return static_cast<unsigned char>(value);
}

Tokenizer::Impl::Impl(TokenizerParts&& parts)
    : source_(std::move(parts.source)),
      bpe_(std::move(parts.vocab), parts.merges, parts.bpe_options, source_, parts.merges_field,
           parts.merge_ranks),
      normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      decoder_(std::move(parts.decoder)),
      added_(std::move(parts.added_tokens)),
      trimming_(parts.trimming),
      special_(parts.special),
      specials_added_(std::move(parts.specials_added)) {
  std::int64_t size = 0;
  for (const auto& [spelling, id] : bpe_.vocab()) size = std::max(size, id + 1);
  for (const AddedToken& token : added_.tokens()) {
    if (token.id < 0 || token.id > INT32_MAX) {
      throw Error(source_, "added_tokens", "token id " + std::to_string(token.id) + " out of range");
    }
    size = std::max(size, token.id + 1);
  }
  spellings_.resize(size);
  bytes_.resize(size);
  kinds_.assign(size, Kind::None);
  for (const auto& [spelling, id] : bpe_.vocab()) {
    spellings_[id] = spelling;
    kinds_[id] = Kind::Vocab;
  }
  // HF looks added tokens up before the model's vocabulary.
  for (const AddedToken& token : added_.tokens()) {
    spellings_[token.id] = token.content;
    kinds_[token.id] = token.special ? Kind::Special : Kind::Added;
  }
  for (std::int64_t id = 0; id < size; ++id) {
    bytes_[id] = decoder_.byte_level ? bytes_of_spelling(spellings_[id])
                                     : sentencepiece_bytes(spellings_[id], decoder_);
  }
  for (std::int64_t* id : {&special_.bos, &special_.eos, &special_.pad}) {
    if (!has_token(*id)) *id = -1;
  }
  // Every model input would carry these ids: one without a token is refused now, not at the embedding.
  for (const std::vector<std::int64_t>* ids : {&specials_added_.prefix, &specials_added_.suffix}) {
    for (const std::int64_t id : *ids) {
      if (!has_token(id)) {
        throw Error(source_, specials_added_.field,
                    "token id " + std::to_string(id) + " is not a token of this vocabulary");
      }
    }
  }
}

const std::string& Tokenizer::Impl::spelling(std::int64_t id) const {
  if (!has_token(id))
    throw Error(source_, "token id", std::to_string(id) + " is not a token of this vocabulary");
  return spellings_[id];
}

const std::string& Tokenizer::Impl::bytes(std::int64_t id) const {
  if (!has_token(id))
    throw Error(source_, "token id", std::to_string(id) + " is not a token of this vocabulary");
  return bytes_[id];
}

std::optional<std::int64_t> Tokenizer::Impl::find(std::string_view spelling) const {
  for (const AddedToken& token : added_.tokens()) {
    if (token.content == spelling) return token.id;
  }
  return bpe_.find(spelling);
}

Encoding Tokenizer::Impl::encode(std::string_view text) const {
  struct Attributed {
    std::int64_t id;
    std::size_t begin;  // bytes of the text the token is attributed to, [begin, end)
    std::size_t end;
  };
  std::vector<Attributed> tokens;
  std::vector<Piece> pieces;
  std::vector<BpeToken> piece_tokens;
  const bool normalizing = !normalizer_.is_identity();
  NormalizedText normalized;
  for (const Segment& segment : added_.split(text)) {
    if (segment.added_id >= 0) {
      tokens.push_back({segment.added_id, segment.begin, segment.end});
      continue;
    }
    // Pre-tokenizer and BPE read the normalized text; its bytes map back through `origin`.
    std::string_view subject = text;
    std::size_t begin = segment.begin;
    std::size_t end = segment.end;
    if (normalizing) {
      normalizer_.normalize(text, segment.begin, segment.end, normalized);
      subject = normalized.text;
      begin = 0;
      end = subject.size();
    }
    pieces.clear();
    pre_tokenizer_->split(subject, begin, end, pieces);
    for (const Piece& piece : pieces) {
      piece_tokens.clear();
      bpe_.encode(subject.substr(piece.begin, piece.end - piece.begin), piece_tokens);
      for (const BpeToken& token : piece_tokens) {
        const std::size_t first = piece.begin + static_cast<std::size_t>(token.first_byte);
        const std::size_t last = piece.begin + static_cast<std::size_t>(token.last_byte);
        if (normalizing) {
          tokens.push_back({token.id, normalized.origin[first].first, normalized.origin[last].second});
        } else {
          tokens.push_back({token.id, first, last + 1});
        }
      }
    }
  }

  const std::vector<std::int64_t> code_point_of_byte = code_point_index_of_bytes(text);
  // First byte of each code point (and the text size after the last), for HF's byte offsets,
  // which always cover whole characters.
  std::vector<std::size_t> first_byte_of_code_point;
  if (trimming_.enabled) {
    first_byte_of_code_point.resize(code_point_of_byte.back() + 1);
    for (std::size_t b = text.size(); b-- > 0;) first_byte_of_code_point[code_point_of_byte[b]] = b;
    first_byte_of_code_point.back() = text.size();
  }

  Encoding encoding;
  encoding.ids.reserve(tokens.size());
  encoding.offsets.reserve(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Attributed& token = tokens[i];
    encoding.ids.push_back(token.id);
    const std::int64_t first_code_point = code_point_of_byte[token.begin];
    const std::int64_t end_code_point =
        token.end > token.begin ? code_point_of_byte[token.end - 1] + 1 : first_code_point;
    if (!trimming_.enabled) {
      encoding.offsets.push_back({first_code_point, end_code_point});
      continue;
    }
    // HF's process_offsets, on byte offsets.
    std::size_t start = first_byte_of_code_point[first_code_point];
    std::size_t end = first_byte_of_code_point[end_code_point];
    const std::string& spelling = spellings_[token.id];
    auto leading = static_cast<std::size_t>(count_edge_spaces(spelling, false));
    const auto trailing = static_cast<std::size_t>(count_edge_spaces(spelling, true));
    if (leading > 0) {
      const bool is_first = i == 0 || start == 0;
      if (is_first && trimming_.add_prefix_space && leading == 1) leading = 0;
      start = std::min(start + leading, end);
    }
    if (trailing > 0 && end >= trailing) end = std::max(end - trailing, start);
    const std::int64_t trimmed_start = code_point_of_byte[std::min(start, text.size())];
    const std::int64_t trimmed_end = end > start ? code_point_of_byte[end - 1] + 1 : trimmed_start;
    encoding.offsets.push_back({trimmed_start, trimmed_end});
  }
  return encoding;
}

Encoding Tokenizer::Impl::encode_with_specials(std::string_view text) const {
  Encoding encoding = encode(text);
  const std::vector<std::int64_t>& prefix = specials_added_.prefix;
  const std::vector<std::int64_t>& suffix = specials_added_.suffix;
  if (prefix.empty() && suffix.empty()) return encoding;
  // Added tokens stand for no character of the text: HF's offset_mapping gives them (0, 0).
  encoding.ids.insert(encoding.ids.begin(), prefix.begin(), prefix.end());
  encoding.offsets.insert(encoding.offsets.begin(), prefix.size(), Offset{0, 0});
  encoding.ids.insert(encoding.ids.end(), suffix.begin(), suffix.end());
  encoding.offsets.insert(encoding.offsets.end(), suffix.size(), Offset{0, 0});
  return encoding;
}

std::string Tokenizer::Impl::decode_sentencepiece(const std::vector<std::int64_t>& ids,
                                                  bool skip_special_tokens) const {
  std::string text;
  std::string byte_run;  // consecutive byte-fallback tokens
  const auto flush = [&] {
    if (is_valid_utf8(byte_run)) {
      text += byte_run;
    } else {
      for (std::size_t k = 0; k < byte_run.size(); ++k) text += "\uFFFD";
    }
    byte_run.clear();
  };
  for (const std::int64_t id : ids) {
    if (!has_token(id)) continue;
    if (skip_special_tokens && kinds_[id] == Kind::Special) continue;
    if (decoder_.byte_fallback && fallback_byte(spellings_[id])) {
      byte_run += bytes_[id];
      continue;
    }
    flush();
    text += bytes_[id];
  }
  flush();
  // Strip: whole characters equal to strip_content at the edges.
  std::string strip;
  append_utf8(strip, decoder_.strip_content);
  for (std::size_t k = 0; k < decoder_.strip_start && text.rfind(strip, 0) == 0; ++k)
    text.erase(0, strip.size());
  for (std::size_t k = 0; k < decoder_.strip_stop && text.size() >= strip.size() &&
                          text.compare(text.size() - strip.size(), strip.size(), strip) == 0;
       ++k) {
    text.resize(text.size() - strip.size());
  }
  return decode_utf8_lossy(text);
}

std::string Tokenizer::Impl::decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const {
  if (!decoder_.byte_level) return decode_sentencepiece(ids, skip_special_tokens);
  std::string raw;
  for (const std::int64_t id : ids) {
    if (!has_token(id)) continue;
    if (skip_special_tokens && kinds_[id] == Kind::Special) continue;
    raw += bytes_[id];
  }
  return decode_utf8_lossy(raw);
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    const fs::path folder(path);
    if (fs::exists(folder / "tokenizer.json")) return from_hf_json((folder / "tokenizer.json").string());
    if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt")) {
      return from_vocab_merges((folder / "vocab.json").string(), (folder / "merges.txt").string());
    }
    throw Error(path, "", "folder holds neither tokenizer.json nor vocab.json + merges.txt");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "", "cannot open");
  char magic[4] = {};
  in.read(magic, sizeof magic);
  // A .gguf that is not one gets the GGUF reader's error (its magic), not the JSON parser's.
  const bool gguf =
      (in.gcount() == 4 && std::string_view(magic, 4) == "GGUF") || fs::path(path).extension() == ".gguf";
  if (gguf) return from_gguf(io::GgufFile::open(path));
  return from_hf_json(path);
}

Encoding Tokenizer::encode(std::string_view text) const { return impl_->encode(text); }
Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return add_special_tokens ? impl_->encode_with_specials(text) : impl_->encode(text);
}
const std::vector<std::int64_t>& Tokenizer::special_prefix() const { return impl_->specials_added().prefix; }
const std::vector<std::int64_t>& Tokenizer::special_suffix() const { return impl_->specials_added().suffix; }

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

std::int64_t Tokenizer::vocab_size() const { return impl_->vocab_size(); }
const std::string& Tokenizer::token_string(std::int64_t id) const { return impl_->spelling(id); }
const std::string& Tokenizer::token_bytes(std::int64_t id) const { return impl_->bytes(id); }
bool Tokenizer::is_special(std::int64_t id) const { return impl_->is_special(id); }
std::optional<std::int64_t> Tokenizer::token_id(std::string_view token_string) const {
  return impl_->find(token_string);
}
std::int64_t Tokenizer::bos_id() const { return impl_->special().bos; }
std::int64_t Tokenizer::eos_id() const { return impl_->special().eos; }
std::int64_t Tokenizer::pad_id() const {
  return impl_->special().pad >= 0 ? impl_->special().pad : impl_->special().eos;
}

}  // namespace remedi::tok
