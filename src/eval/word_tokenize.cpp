#include "eval/word_tokenize.h"

#include <string>
#include <utility>

#include "data/text.h"
#include "eval/sentence_split.h"
#include "util/regex.h"
#include "util/utf8.h"

namespace remedi::eval {

namespace {

struct Rule {
  Regex pattern;
  std::string replacement;  // PCRE2 syntax: $1 = group 1, $0 = whole match
};

Rule rule(const std::string& pattern, std::string_view replacement) {
  return {Regex(pattern), std::string(replacement)};
}

// Python's `\s` (str.isspace), which PCRE2's `\s` does not fully cover.
std::string with_python_space(std::string_view pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size() && pattern[i + 1] == 's') {
      out += kPythonSpaceClass;
      ++i;
    } else if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern.substr(i, 2);
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

// The Treebank rule groups, applied in this order: starting quotes, punctuation, brackets, double
// dashes, (pad the text with one space each side), ending quotes and clitics, contractions. Quote
// characters: U+00AB/U+00BB guillemets, U+2018/U+2019 single and U+201C/U+201D/U+201E double curly
// quotes; U+2012..U+2015 are the figure dash, en dash, em dash and horizontal bar.
struct TreebankRules {
  std::vector<Rule> before_padding;
  std::vector<Rule> after_padding;
};

const TreebankRules& treebank_rules() {
  static const TreebankRules rules = [] {
    TreebankRules r;
    auto& before = r.before_padding;
    // Starting quotes: opening curly quotes and backticks stand alone; a double quote at the start
    // of the text, or after a space or an opening bracket, becomes ``; a single quote that opens a
    // word (and is not a clitic like 're, 's, 'll) is split from it.
    before.push_back(rule(R"(([\x{ab}\x{201c}\x{2018}\x{201e}]|`+))", " $1 "));
    before.push_back(rule(R"(^")", "``"));
    before.push_back(rule(R"((``))", " $1 "));
    before.push_back(rule(R"(([ (\[{<])("|''))", "$1 `` "));
    before.push_back(rule(R"((?i)(?<!\w)(')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w))", "$1 "));
    // Punctuation. The final period of the sentence (possibly followed by closing brackets/quotes)
    // is split off; commas and colons not inside numbers; ellipses; symbols; dashes; ? and !.
    before.push_back(
        rule(with_python_space(R"(([^.])(\.)([\])}>"'\x{bb}\x{201d}\x{2019} ]*+)\s*$)"), "$1 $2 $3 "));
    before.push_back(rule(R"(([:,])([^\d]))", " $1 $2"));
    before.push_back(rule(R"(([:,])$)", " $1 "));
    before.push_back(rule(R"(\.{2,})", " $0 "));
    before.push_back(rule(R"([;@#$%&])", " $0 "));
    before.push_back(rule(R"([\x{2012}-\x{2015}])", " $0 "));
    before.push_back(rule(with_python_space(R"(([^.])(\.)([\])}>"']*)\s*$)"), "$1 $2$3 "));
    before.push_back(rule(R"([?!])", " $0 "));
    before.push_back(rule(R"(([^'])' )", "$1 ' "));
    before.push_back(rule(R"([*])", " $0 "));
    // Brackets, then double dashes.
    before.push_back(rule(R"([\]\[(){}<>])", " $0 "));
    before.push_back(rule(R"(--)", " -- "));

    auto& after = r.after_padding;
    // Ending quotes: closing curly quotes and '' stand alone, " becomes ''; whitespace runs collapse;
    // clitics ('s, 'm, 'd, 'll, 're, 've, n't) and a lone closing ' are split from their word.
    after.push_back(rule(R"(([\x{bb}\x{201d}\x{2019}]))", " $1 "));
    after.push_back(rule(R"('')", " '' "));
    after.push_back(rule(R"(")", " '' "));
    after.push_back(rule(with_python_space(R"(\s+)"), " "));
    after.push_back(rule(R"(([^' ])('[sS]|'[mM]|'[dD]|') )", "$1 $2 "));
    after.push_back(rule(R"(([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) )", "$1 $2 "));
    // Contractions split in two (Robert MacIntyre's list): cannot, d'ye, gimme, gonna, gotta, lemme,
    // more'n, wanna, 'tis, 'twas.
    after.push_back(rule(R"((?i)\b(can)(not)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(d)('ye)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(gim)(me)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(gon)(na)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(got)(ta)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(lem)(me)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i)\b(more)('n)\b)", " $1 $2 "));
    after.push_back(rule(with_python_space(R"((?i)\b(wan)(na)(?=\s))"), " $1 $2 "));
    after.push_back(rule(R"((?i) ('t)(is)\b)", " $1 $2 "));
    after.push_back(rule(R"((?i) ('t)(was)\b)", " $1 $2 "));
    return r;
  }();
  return rules;
}

}  // namespace

std::vector<std::string> treebank_word_tokenize(std::string_view sentence) {
  const TreebankRules& rules = treebank_rules();
  std::string text = decode_utf8_lossy(sentence);
  for (const Rule& r : rules.before_padding) text = r.pattern.replace_all(text, r.replacement);
  text = " " + text + " ";
  for (const Rule& r : rules.after_padding) text = r.pattern.replace_all(text, r.replacement);
  return data::split_whitespace(text);
}

std::vector<std::string> word_tokenize(std::string_view text) {
  const std::string clean = decode_utf8_lossy(text);
  std::vector<std::string> tokens;
  for (const SentenceSpan& span : split_sentences(clean)) {
    for (std::string& token :
         treebank_word_tokenize(std::string_view(clean).substr(span.begin, span.end - span.begin))) {
      tokens.push_back(std::move(token));
    }
  }
  return tokens;
}

}  // namespace remedi::eval
