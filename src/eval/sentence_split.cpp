#include "eval/sentence_split.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <unordered_set>

#include "data/text.h"
#include "util/regex.h"
#include "util/utf8.h"

namespace remedi::eval {

namespace {

// Common English abbreviations, written for this project (lower-case, final period removed). A
// period after one of these does not end a sentence. tests/reference/make_metric_vectors.py reads
// the block between the two marker lines to build the same Punkt parameters in Python.
// BEGIN ABBREVIATIONS
constexpr std::string_view kAbbreviations[] = {
    // titles and ranks
    "mr", "mrs", "ms", "messrs", "dr", "prof", "rev", "hon", "st", "sr", "jr", "gen", "col", "lt", "maj",
    "capt", "sgt", "cmdr", "adm", "gov", "sen", "rep", "pres", "supt", "fr", "esq",
    // organisations and places
    "inc", "ltd", "co", "corp", "bros", "assn", "dept", "univ", "mt", "ft", "ave", "blvd", "rd", "u.s", "u.k",
    "u.n", "u.s.a", "d.c", "e.u",
    // months and days
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues",
    "wed", "thu", "thurs", "fri", "sat", "sun",
    // references and Latin
    "etc", "vs", "viz", "cf", "al", "approx", "ca", "fig", "figs", "vol", "vols", "no", "nos", "pp", "ed",
    "eds", "e.g", "i.e", "a.m", "p.m", "ph.d", "b.a", "m.a", "m.d", "b.sc", "m.sc"};
// END ABBREVIATIONS

// Characters that cannot be inside a Punkt word token: closing and opening brackets, quotes, and
// the sentence-ending characters other than the period.
constexpr std::string_view kNonWord = R"re([)";}\]*:@'({\[\x{2018}\x{2019}\x{201c}\x{201d}\x{ab}\x{bb}?!])re";

std::string python_space_pattern(std::string_view pattern) {
  // `~s` / `~S` stand for Python's \s / \S in the patterns below.
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '~' && i + 1 < pattern.size() && (pattern[i + 1] == 's' || pattern[i + 1] == 'S')) {
      out += pattern[i + 1] == 's' ? kPythonSpaceClass : kPythonNonSpaceClass;
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

struct PunktPatterns {
  Regex word;            // Punkt's word tokens: punctuation other than the period split off
  Regex period_context;  // a candidate break: [.?!] then punctuation or whitespace + next token
  Regex realignment;     // closing punctuation that belongs to the sentence before a break
  Regex number;          // a token Punkt types as ##number##
  Regex initial;         // a single letter and a period
  Regex upper_initial;
  Regex lower_initial;
};

const PunktPatterns& patterns() {
  static const PunktPatterns p = [] {
    const std::string multi_char = python_space_pattern(R"((?:-{2,}|\.{2,}|(?:\.~s){2,}\.))");
    const std::string non_word(kNonWord);
    const std::string space = python_space_pattern("~s");
    // A multi-character mark, or a word (not starting with an excluded mark) up to whitespace, the
    // end, a non-word mark, a multi-character mark or a word-final comma, or any other single mark.
    const std::string word_end = "(?=" + space + "|$|" + non_word + "|" + multi_char + "|,(?=$|" + space +
                                 "|" + non_word + "|" + multi_char + "))";
    const std::string word = multi_char + R"(|(?=[^("`{\[:;&#*@)}\]\-,]))" + python_space_pattern("~S+?") +
                             word_end + "|" + python_space_pattern("~S");
    return PunktPatterns{
        Regex(word),
        Regex("[.?!](?=(" + non_word + python_space_pattern("|~s+(~S+)))")),
        Regex(python_space_pattern(
            R"((?m)["')\]}\x{2018}\x{2019}\x{201c}\x{201d}\x{ab}\x{bb}]+?(?:~s+|(?=--)|$))")),
        Regex(R"(-?[.,]?\d[\d,.\-]*\.?$)"),
        Regex(R"([^\W\d]\.$)"),
        Regex(R"(\p{Lu})"),
        Regex(R"(\p{Ll})"),
    };
  }();
  return p;
}

bool full_match(const Regex& regex, std::string_view text) {
  return regex.match_length_at(text, 0) == text.size();
}

struct PunktToken {
  std::string text;
  bool period_final = false;
  bool is_initial = false;
  bool is_number = false;
  bool first_upper = false;
  bool first_lower = false;
  bool sentbreak = false;
};

PunktToken make_token(std::string text) {
  const PunktPatterns& p = patterns();
  PunktToken token;
  token.period_final = text.back() == '.';
  token.is_initial = full_match(p.initial, text);
  token.is_number = full_match(p.number, text);
  token.first_upper = p.upper_initial.match_length_at(text, 0) != RegexMatch::kUnset;
  token.first_lower = p.lower_initial.match_length_at(text, 0) != RegexMatch::kUnset;
  token.text = std::move(text);
  return token;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

// Type-based annotation of one token (Punkt's first pass): a lone . ? ! is a break; so is a word
// ending in one period unless it is a listed abbreviation (or ends in one after its last hyphen).
// Ellipses ("..", "...") are never breaks.
void annotate_by_type(PunktToken& token) {
  const std::string& t = token.text;
  if (t == "." || t == "?" || t == "!") {
    token.sentbreak = true;
  } else if (token.period_final && !(t.size() >= 2 && t[t.size() - 2] == '.')) {
    const std::string word = ascii_lower(std::string_view(t).substr(0, t.size() - 1));
    const std::size_t dash = word.rfind('-');
    const std::string_view last_part =
        dash == std::string::npos ? std::string_view(word) : std::string_view(word).substr(dash + 1);
    token.sentbreak = !is_known_abbreviation(word) && !is_known_abbreviation(last_part);
  }
}

// Token-based reclassification (Punkt's second pass). Only its rule for initials and numbers can
// fire without learned parameters: Punkt's orthographic heuristic, with no orthographic statistics,
// takes a following lower-case word or one of ; : , . ! ? as evidence against a sentence start, and
// an initial followed by a capitalised word as part of a name ("J. Bach").
void annotate_by_context(PunktToken& token, const PunktToken& next) {
  if (!token.period_final || !(token.is_initial || token.is_number)) return;
  static const std::unordered_set<std::string_view> kPunctuation = {";", ":", ",", ".", "!", "?"};
  const bool not_a_sentence_start = kPunctuation.count(next.text) != 0 || next.first_lower;
  if (not_a_sentence_start || (token.is_initial && next.first_upper)) token.sentbreak = false;
}

bool contains_sentence_break(std::string_view context) {
  std::vector<PunktToken> tokens;
  std::size_t line_start = 0;
  while (line_start <= context.size()) {
    std::size_t line_end = context.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = context.size();
    const std::string_view line = context.substr(line_start, line_end - line_start);
    for (const RegexMatch& m : patterns().word.find_all(line)) {
      tokens.push_back(
          make_token(std::string(line.substr(m.groups[0].begin, m.groups[0].end - m.groups[0].begin))));
    }
    line_start = line_end + 1;
  }
  for (PunktToken& token : tokens) annotate_by_type(token);
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) annotate_by_context(tokens[i], tokens[i + 1]);
  // A break on the context's last token does not count: it is the token after the candidate.
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (tokens[i].sentbreak) return true;
  }
  return false;
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Candidate breaks with the text around each: the word before (back to the last ASCII whitespace),
// the candidate character and what follows it. A run like "!!!" yields only its last character, as
// in Punkt, because the earlier ones share the same preceding word.
struct Candidate {
  RegexMatch match;
  std::size_t context_begin = 0;
};

std::vector<Candidate> candidate_breaks(std::string_view text) {
  std::vector<Candidate> candidates;
  std::size_t previous_begin = 0;
  std::size_t previous_end = 0;
  bool have_previous = false;
  RegexMatch previous;
  for (RegexMatch& m : patterns().period_context.find_all(text)) {
    const std::size_t start = m.groups[0].begin;
    // Punkt treats a whitespace at the very start of the gap like no whitespace at all.
    std::size_t last_space = 0;
    for (std::size_t i = start; i > previous_end; --i) {
      if (is_ascii_space(text[i - 1])) {
        last_space = i - 1 - previous_end;
        break;
      }
    }
    const std::size_t word_begin = last_space != 0 ? previous_end + last_space + 1 : previous_begin;
    if (have_previous && previous_end <= word_begin)
      candidates.push_back({std::move(previous), previous_begin});
    previous = std::move(m);
    previous_begin = word_begin;
    previous_end = start;
    have_previous = true;
  }
  if (have_previous) candidates.push_back({std::move(previous), previous_begin});
  return candidates;
}

}  // namespace

bool is_known_abbreviation(std::string_view word) {
  static const std::unordered_set<std::string_view> kSet(std::begin(kAbbreviations),
                                                         std::end(kAbbreviations));
  return kSet.count(word) != 0;
}

std::vector<SentenceSpan> split_sentences(std::string_view text) {
  std::vector<SentenceSpan> raw;
  std::size_t last_break = 0;
  for (const Candidate& candidate : candidate_breaks(text)) {
    const RegexMatch& m = candidate.match;
    const std::size_t context_end = m.groups[1].end;
    if (!contains_sentence_break(
            text.substr(candidate.context_begin, context_end - candidate.context_begin))) {
      continue;
    }
    raw.push_back({last_break, m.groups[0].end});
    last_break = m.groups[2].is_set() ? m.groups[2].begin : m.groups[0].end;
  }
  raw.push_back({last_break, std::max(last_break, data::rstrip_whitespace(text).size())});

  // Closing quotes and brackets that open the next piece belong to the sentence they close.
  std::vector<SentenceSpan> sentences;
  std::size_t realign = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const SentenceSpan current{raw[i].begin + realign, raw[i].end};
    if (i + 1 == raw.size()) {
      if (current.begin < current.end) sentences.push_back(current);
      break;
    }
    const std::string_view next = text.substr(raw[i + 1].begin, raw[i + 1].end - raw[i + 1].begin);
    const std::size_t closing = patterns().realignment.match_length_at(next, 0);
    if (closing != RegexMatch::kUnset) {
      sentences.push_back(
          {current.begin, raw[i + 1].begin + data::rstrip_whitespace(next.substr(0, closing)).size()});
      realign = closing;
    } else {
      realign = 0;
      if (current.begin < current.end) sentences.push_back(current);
    }
  }
  return sentences;
}

}  // namespace remedi::eval
