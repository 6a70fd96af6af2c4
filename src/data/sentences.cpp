#include "data/sentences.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <iterator>

#include "data/text.h"
#include "util/utf8.h"

namespace remedi::data {

namespace {

// Words that end in a period without ending the sentence (compared case-insensitively, so "DR."
// and "Dr." both match). "etc." is left out on purpose: it ends sentences more often than not.
constexpr std::string_view kAbbreviations[] = {
    "mr",   "mrs",  "ms",   "dr",  "prof",   "rev",  "hon", "st",  "sr",   "jr",  "gen", "col", "capt",
    "lt",   "sgt",  "gov",  "sen", "rep",    "pres", "fr",  "mt",  "ft",   "inc", "ltd", "co",  "corp",
    "bros", "dept", "univ", "vol", "vols",   "jan",  "feb", "mar", "apr",  "jun", "jul", "aug", "sep",
    "sept", "oct",  "nov",  "dec", "ave",    "blvd", "rd",  "fig", "figs", "eq",  "ch",  "op",  "pp",
    "vs",   "al",   "cf",   "ca",  "approx", "ed",   "eds", "viz", "esp",  "incl"};

constexpr char32_t kEllipsis = 0x2026;

bool is_terminal(char32_t c) { return c == '.' || c == '?' || c == '!' || c == kEllipsis; }

bool is_closing(char32_t c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' || c == 0x201D || c == 0x2019 || c == 0xBB;
}

bool is_opening(char32_t c) {
  return c == '"' || c == '\'' || c == '(' || c == '[' || c == '{' || c == 0x201C || c == 0x2018 || c == 0xAB;
}

// Upper-case letters of the scripts the data sets use (ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic). Latin Extended-A alternates upper/lower case, upper case on even code points.
bool is_upper(char32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
         (c >= 0x100 && c <= 0x17F && c % 2 == 0) || (c >= 0x391 && c <= 0x3A9) || (c >= 0x410 && c <= 0x42F);
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

bool is_ascii_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// "U.S", "S.p.A", "e.g", "Ph.D": letter groups of at most three joined by periods.
bool is_dotted_acronym(std::string_view word) {
  if (word.find('.') == std::string_view::npos) return false;
  std::size_t group = 0;
  for (const char c : word) {
    if (c == '.') {
      if (group == 0) return false;
      group = 0;
    } else if (is_ascii_letter(c) && group < 3) {
      ++group;
    } else {
      return false;
    }
  }
  return group > 0;
}

bool is_abbreviation(std::string_view word) {
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kAbbreviations), std::end(kAbbreviations), lower) != std::end(kAbbreviations);
}

// The word that a period at `period` ends: back to the previous whitespace, without opening
// quotes or brackets in front of it.
std::string_view word_before(std::string_view text, std::size_t sentence_start, std::size_t period) {
  std::size_t start = period;
  while (start > sentence_start) {
    const auto c = static_cast<unsigned char>(text[start - 1]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '[' || c == '"' || c == '\'')
      break;
    --start;
  }
  return text.substr(start, period - start);
}

bool period_ends_sentence(std::string_view word) {
  const bool initial = word.size() == 1 && is_upper(static_cast<unsigned char>(word[0]));
  return !initial && !is_dotted_acronym(word) && !is_abbreviation(word);
}

struct Scanner {
  std::string_view text;
  std::size_t pos = 0;

  bool done() const { return pos >= text.size(); }
  char32_t peek() const { return decode_utf8_at(text, pos).code_point; }
  void advance() { pos += decode_utf8_at(text, pos).length; }
};

// A blank line at `pos`: a line break, optional spaces or tabs, and another line break. Returns the
// position after the whole run of blank-line whitespace, or `pos` if there is none.
std::size_t skip_blank_line(std::string_view text, std::size_t pos) {
  if (text[pos] != '\n' && text[pos] != '\r') return pos;
  std::size_t breaks = 0;
  std::size_t end = pos;
  while (end < text.size()) {
    const char c = text[end];
    if (c == '\n') {
      ++breaks;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      break;
    }
    ++end;
  }
  return breaks >= 2 ? end : pos;
}

}  // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> sentences;
  std::size_t sentence_start = 0;
  const auto emit = [&](std::size_t end, std::size_t next_start) {
    std::string sentence = strip_whitespace(text.substr(sentence_start, end - sentence_start));
    if (!sentence.empty()) sentences.push_back(std::move(sentence));
    sentence_start = next_start;
  };

  Scanner scan{text};
  while (!scan.done()) {
    const std::size_t blank_end = skip_blank_line(text, scan.pos);
    if (blank_end != scan.pos) {
      emit(scan.pos, blank_end);
      scan.pos = blank_end;
      continue;
    }
    if (!is_terminal(scan.peek())) {
      scan.advance();
      continue;
    }
    const std::size_t run_start = scan.pos;
    while (!scan.done() && is_terminal(scan.peek())) scan.advance();
    const bool single_period = scan.pos == run_start + 1 && text[run_start] == '.';
    while (!scan.done() && is_closing(scan.peek())) scan.advance();
    const std::size_t sentence_end = scan.pos;
    if (scan.done() || !is_python_space(scan.peek())) continue;

    Scanner next = scan;
    while (!next.done() && is_python_space(next.peek())) next.advance();
    while (!next.done() && is_opening(next.peek())) next.advance();
    if (next.done()) continue;
    const char32_t first = next.peek();
    if (!is_upper(first) && !is_digit(first)) continue;
    if (single_period) {
      const std::string_view word = word_before(text, sentence_start, run_start);
      // "No. 5" is a number sign; "No. The" ends a sentence.
      const bool number_sign = (word == "No" || word == "no" || word == "NO") && is_digit(first);
      if (number_sign || !period_ends_sentence(word)) continue;
    }
    emit(sentence_end, sentence_end);
  }
  emit(text.size(), text.size());
  return sentences;
}

}  // namespace remedi::data
