#include "tok/normalizer.h"

#include <unicode/unorm2.h>
#include <unicode/utf16.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "util/error.h"
#include "util/utf8.h"

namespace remedi::tok {

namespace {

// One character of the text being normalized, with the original bytes it stands for. A byte that
// is not UTF-8 travels as kRawByte + byte and is never changed (Python strings, HF's input, cannot
// hold one).
struct Unit {
  char32_t code_point;
  std::size_t begin;
  std::size_t end;
};
constexpr char32_t kRawByte = 0x110000;

std::vector<Unit> decode_units(std::string_view text, std::size_t begin, std::size_t end) {
  std::vector<Unit> units;
  units.reserve(end - begin);
  const std::string_view part = text.substr(0, end);
  for (std::size_t pos = begin; pos < end;) {
    const DecodedCodePoint decoded = decode_utf8_at(part, pos);
    const char32_t code_point =
        decoded.valid ? decoded.code_point : kRawByte + static_cast<unsigned char>(text[pos]);
    units.push_back({code_point, pos, pos + decoded.length});
    pos += decoded.length;
  }
  return units;
}

std::vector<char32_t> code_points_of(std::string_view text) {
  std::vector<char32_t> out;
  for (const Unit& unit : decode_units(text, 0, text.size())) out.push_back(unit.code_point);
  return out;
}

// HF's Replace of a literal: non-overlapping matches, left to right; the replacement's characters
// all take the range of the last character they replace.
void replace_units(std::vector<Unit>& units, const std::vector<char32_t>& from,
                   const std::vector<char32_t>& to) {
  if (from.empty()) return;
  std::vector<Unit> out;
  out.reserve(units.size());
  for (std::size_t i = 0; i < units.size();) {
    const bool match = i + from.size() <= units.size() &&
                       std::equal(from.begin(), from.end(), units.begin() + static_cast<std::ptrdiff_t>(i),
                                  [](char32_t c, const Unit& unit) { return c == unit.code_point; });
    if (!match) {
      out.push_back(units[i++]);
      continue;
    }
    const Unit& last = units[i + from.size() - 1];
    for (const char32_t c : to) out.push_back({c, last.begin, last.end});
    i += from.size();
  }
  units.swap(out);
}

struct NormalizerInstances {
  const UNormalizer2* nfc;
  const UNormalizer2* nfd;
};

const NormalizerInstances& icu_normalizers() {
  static const NormalizerInstances instances = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
    const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
    if (U_FAILURE(status)) throw Error("<built-in>", "NFC", std::string("ICU: ") + u_errorName(status));
    return NormalizerInstances{nfc, nfd};
  }();
  return instances;
}

std::u16string to_utf16(const Unit* units, std::size_t count) {
  std::u16string out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const char32_t c = units[i].code_point;
    if (c <= 0xFFFF) {
      out.push_back(static_cast<char16_t>(c));
    } else {
      out.push_back(static_cast<char16_t>(U16_LEAD(c)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(c)));
    }
  }
  return out;
}

// A character of the NFC result and HF's "change" for it: 0 = it replaces the next original
// character, +1 = it is inserted, -n = it replaces the next original character and n more.
struct Changed {
  char32_t code_point;
  int change;
};

std::uint8_t combining_class(char32_t c) {
  return unorm2_getCombiningClass(icu_normalizers().nfc, static_cast<UChar32>(c));
}

// Canonical decomposition then canonical reordering, each piece tagged with its change: the first
// piece of a character 0, the others +1 (inserted). The tags travel with the pieces when reordered.
std::vector<Changed> decompose(const Unit* units, std::size_t count) {
  std::vector<Changed> out;
  out.reserve(count);
  UChar buffer[32];
  for (std::size_t i = 0; i < count; ++i) {
    UErrorCode status = U_ZERO_ERROR;
    const int32_t length = unorm2_getDecomposition(
        icu_normalizers().nfd, static_cast<UChar32>(units[i].code_point), buffer, 32, &status);
    if (U_FAILURE(status) || length < 0) {
      out.push_back({units[i].code_point, 0});
      continue;
    }
    int change = 0;
    for (int32_t k = 0; k < length;) {
      UChar32 c = 0;
      U16_NEXT(buffer, k, length, c);
      out.push_back({static_cast<char32_t>(c), change});
      change = 1;
    }
  }
  // Stable sort of every run of non-starters by combining class.
  for (std::size_t i = 0; i < out.size();) {
    if (combining_class(out[i].code_point) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < out.size() && combining_class(out[j].code_point) != 0) ++j;
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i),
                     out.begin() + static_cast<std::ptrdiff_t>(j), [](const Changed& a, const Changed& b) {
                       return combining_class(a.code_point) < combining_class(b.code_point);
                     });
    i = j;
  }
  return out;
}

// Canonical composition over the reordered pieces; a composite's change is the sum of its parts'
// changes minus one per piece it absorbed. A mark that cannot join the current starter waits and is
// written after it, as the UAX #15 algorithm does.
std::vector<Changed> recompose(const std::vector<Changed>& pieces) {
  std::vector<Changed> out;
  out.reserve(pieces.size());
  std::optional<Changed> starter;
  std::vector<Changed> waiting;
  int last_class = -1;  // class of the last waiting mark, -1 when none waits
  const auto flush = [&] {
    if (starter) out.push_back(*starter);
    out.insert(out.end(), waiting.begin(), waiting.end());
    waiting.clear();
    last_class = -1;
  };
  for (const Changed& piece : pieces) {
    const int piece_class = combining_class(piece.code_point);
    if (!starter) {
      if (piece_class != 0) {
        out.push_back(piece);
      } else {
        starter = piece;
      }
      continue;
    }
    // A waiting mark of the same or a higher class blocks `piece` from the starter.
    const bool blocked = last_class >= 0 && last_class >= piece_class;
    if (!blocked) {
      const UChar32 composite =
          unorm2_composePair(icu_normalizers().nfc, static_cast<UChar32>(starter->code_point),
                             static_cast<UChar32>(piece.code_point));
      if (composite >= 0) {
        starter = Changed{static_cast<char32_t>(composite), starter->change + piece.change - 1};
        continue;
      }
    }
    if (piece_class == 0) {
      flush();
      starter = piece;
      continue;
    }
    waiting.push_back(piece);
    last_class = piece_class;
  }
  flush();
  return out;
}

// NFC of a run of valid characters, with HF's alignments: each result character takes the range of
// the original character at the current position (or, inserted, of the one before it).
void nfc_run(const Unit* units, std::size_t count, std::vector<Unit>& out) {
  std::size_t position = 0;
  for (const Changed& result : recompose(decompose(units, count))) {
    if (result.change > 0) {
      const Unit& before = units[position > 0 ? position - 1 : 0];
      out.push_back({result.code_point, before.begin, before.end});
      continue;
    }
    const Unit& replaced = units[std::min(position, count - 1)];
    out.push_back({result.code_point, replaced.begin, replaced.end});
    position += 1 + static_cast<std::size_t>(-result.change);
  }
}

void nfc_units(std::vector<Unit>& units) {
  const UNormalizer2* nfc = icu_normalizers().nfc;
  // Most text is already NFC: check that first, over runs of valid characters.
  bool all_normalized = true;
  for (std::size_t i = 0; i < units.size() && all_normalized;) {
    std::size_t j = i;
    while (j < units.size() && units[j].code_point < kRawByte) ++j;
    if (j > i) {
      const std::u16string run = to_utf16(units.data() + i, j - i);
      UErrorCode status = U_ZERO_ERROR;
      all_normalized = unorm2_isNormalized(nfc, run.data(), static_cast<int32_t>(run.size()), &status) != 0 &&
                       U_SUCCESS(status);
    }
    i = j + 1;
  }
  if (all_normalized) return;
  std::vector<Unit> out;
  out.reserve(units.size());
  for (std::size_t i = 0; i < units.size();) {
    if (units[i].code_point >= kRawByte) {
      out.push_back(units[i++]);
      continue;
    }
    std::size_t j = i;
    while (j < units.size() && units[j].code_point < kRawByte) ++j;
    nfc_run(units.data() + i, j - i, out);
    i = j;
  }
  units.swap(out);
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& node, const std::string& source) {
  Normalizer normalizer;
  if (!node.is_null()) normalizer.parse_node(node, source, "normalizer");
  return normalizer;
}

void Normalizer::parse_node(const nlohmann::json& node, const std::string& source, const std::string& field) {
  if (!node.is_object()) throw Error(source, field, "expected an object");
  const auto type_it = node.find("type");
  if (type_it == node.end() || !type_it->is_string())
    throw Error(source, field + ".type", "missing or not a string");
  const auto type = type_it->get<std::string>();
  const auto string_field = [&](const char* key) {
    const auto it = node.find(key);
    if (it == node.end() || !it->is_string()) throw Error(source, field + "." + key, "expected a string");
    return it->get<std::string>();
  };
  if (type == "Sequence") {
    const auto list = node.find("normalizers");
    if (list == node.end() || !list->is_array())
      throw Error(source, field + ".normalizers", "expected an array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      parse_node((*list)[i], source, field + ".normalizers[" + std::to_string(i) + "]");
    }
  } else if (type == "NFC") {
    steps_.push_back({Kind::Nfc, "", ""});
  } else if (type == "Prepend") {
    steps_.push_back({Kind::Prepend, "", string_field("prepend")});
  } else if (type == "Replace") {
    const auto pattern = node.find("pattern");
    if (pattern == node.end() || !pattern->is_object() || !pattern->contains("String") ||
        !(*pattern)["String"].is_string()) {
      throw Error(source, field + ".pattern", "only a literal {\"String\": ...} pattern is supported");
    }
    steps_.push_back({Kind::Replace, (*pattern)["String"].get<std::string>(), string_field("content")});
  } else {
    throw Error(source, field + ".type",
                "unsupported normalizer \"" + type + "\" (supported: Sequence, NFC, Replace, Prepend)");
  }
}

void Normalizer::add_metaspace(const std::string& replacement, MetaspacePrepend prepend) {
  steps_.push_back({Kind::Replace, " ", replacement});
  if (prepend == MetaspacePrepend::Never) return;
  steps_.push_back({prepend == MetaspacePrepend::First ? Kind::MetaspacePrependFirst : Kind::MetaspacePrepend,
                    "", replacement});
}

void Normalizer::normalize(std::string_view text, std::size_t begin, std::size_t end,
                           NormalizedText& out) const {
  std::vector<Unit> units = decode_units(text, begin, end);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::Nfc:
        nfc_units(units);
        break;
      case Kind::Replace:
        replace_units(units, code_points_of(step.from), code_points_of(step.to));
        break;
      case Kind::Prepend:
      case Kind::MetaspacePrepend:
      case Kind::MetaspacePrependFirst: {
        // HF prepends to a non-empty text only; the prefix takes the first character's range.
        // Metaspace skips a text that already starts with the prefix, and with "first" any text
        // that does not start the input.
        const std::vector<char32_t> prefix = code_points_of(step.to);
        const bool skip =
            units.empty() ||
            (step.kind != Kind::Prepend && !prefix.empty() && units.front().code_point == prefix.front()) ||
            (step.kind == Kind::MetaspacePrependFirst && begin != 0);
        if (!skip) {
          const Unit first = units.front();
          units.insert(units.begin(), prefix.size(), first);
          for (std::size_t k = 0; k < prefix.size(); ++k) units[k].code_point = prefix[k];
        }
        break;
      }
    }
  }
  out.text.clear();
  out.origin.clear();
  for (const Unit& unit : units) {
    if (unit.code_point >= kRawByte) {
      out.text.push_back(static_cast<char>(unit.code_point - kRawByte));
    } else {
      append_utf8(out.text, unit.code_point);
    }
    out.origin.resize(out.text.size(), {unit.begin, unit.end});
  }
}

std::string Normalizer::apply(std::string_view text) const {
  NormalizedText out;
  normalize(text, 0, text.size(), out);
  return std::move(out.text);
}

}  // namespace remedi::tok
