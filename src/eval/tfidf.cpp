#include "eval/tfidf.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "util/error.h"
#include "util/read_file.h"
#include "util/regex.h"
#include "util/utf8.h"

namespace remedi::eval {

double dot(const SparseVector& a, const SparseVector& b) {
  double sum = 0.0;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.indices.size() && j < b.indices.size()) {
    if (a.indices[i] < b.indices[j]) {
      ++i;
    } else if (b.indices[j] < a.indices[i]) {
      ++j;
    } else {
      sum += a.values[i++] * b.values[j++];
    }
  }
  return sum;
}

double l2_norm(const SparseVector& v) {
  double sum = 0.0;
  for (double x : v.values) sum += x * x;
  return std::sqrt(sum);
}

SparseVector mean_vector(const std::vector<SparseVector>& vectors) {
  std::map<std::size_t, double> sums;
  for (const SparseVector& v : vectors) {
    for (std::size_t i = 0; i < v.indices.size(); ++i) sums[v.indices[i]] += v.values[i];
  }
  SparseVector mean;
  for (const auto& [index, sum] : sums) {
    mean.indices.push_back(index);
    mean.values.push_back(sum / static_cast<double>(vectors.size()));
  }
  return mean;
}

double cosine_similarity(const SparseVector& a, const SparseVector& b, double eps) {
  return dot(a, b) / ((l2_norm(a) + eps) * (l2_norm(b) + eps));
}

std::string unicode_lower(std::string_view text) {
  // glibc's built-in C.UTF-8 locale carries the Unicode simple lower-case mapping.
  static const locale_t utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  const std::string clean = decode_utf8_lossy(text);
  std::string out;
  out.reserve(clean.size());
  std::size_t pos = 0;
  while (pos < clean.size()) {
    const DecodedCodePoint decoded = decode_utf8_at(clean, pos);
    char32_t c = decoded.code_point;
    if (c >= U'A' && c <= U'Z') {
      c += U'a' - U'A';
    } else if (c >= 0x80 && utf8_locale != static_cast<locale_t>(nullptr)) {
      c = static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), utf8_locale));
    }
    append_utf8(out, c);
    pos += decoded.length;
  }
  return out;
}

std::vector<std::string> TfidfVectorizer::analyze(std::string_view document) {
  static const Regex token_pattern(R"(\b\w\w+\b)");
  const std::string lower = unicode_lower(document);
  std::vector<std::string> tokens;
  for (const RegexMatch& m : token_pattern.find_all(lower)) {
    tokens.push_back(lower.substr(m.groups[0].begin, m.groups[0].end - m.groups[0].begin));
  }
  return tokens;
}

TfidfVectorizer::TfidfVectorizer(std::unordered_map<std::string, std::size_t> vocabulary,
                                 std::vector<double> idf, const TfidfOptions& options)
    : vocabulary_(std::move(vocabulary)), idf_(std::move(idf)), options_(options) {}

TfidfVectorizer TfidfVectorizer::fit(const std::vector<std::string>& documents, const TfidfOptions& options) {
  std::map<std::string, std::size_t> document_frequency;  // sorted: columns follow term order
  for (const std::string& document : documents) {
    std::vector<std::string> terms = analyze(document);
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
    for (std::string& term : terms) ++document_frequency[std::move(term)];
  }
  if (document_frequency.empty()) {
    throw std::invalid_argument("TfidfVectorizer::fit: empty vocabulary; the documents hold no term");
  }
  const double smoothing = options.smooth_idf ? 1.0 : 0.0;
  const double n_documents = static_cast<double>(documents.size()) + smoothing;
  std::unordered_map<std::string, std::size_t> vocabulary;
  std::vector<double> idf;
  for (const auto& [term, frequency] : document_frequency) {
    vocabulary.emplace(term, idf.size());
    idf.push_back(std::log(n_documents / (static_cast<double>(frequency) + smoothing)) + 1.0);
  }
  return TfidfVectorizer(std::move(vocabulary), std::move(idf), options);
}

TfidfVectorizer TfidfVectorizer::from_idf(std::unordered_map<std::string, std::size_t> vocabulary,
                                          std::vector<double> idf, const std::string& source,
                                          const TfidfOptions& options) {
  if (vocabulary.size() != idf.size()) {
    throw Error(
        source, "idf",
        "has " + std::to_string(idf.size()) + " values for " + std::to_string(vocabulary.size()) + " terms");
  }
  std::vector<bool> seen(idf.size(), false);
  for (const auto& [term, column] : vocabulary) {
    if (column >= idf.size() || seen[column]) {
      throw Error(source, term, "column " + std::to_string(column) + " is out of range or used twice");
    }
    seen[column] = true;
  }
  for (std::size_t i = 0; i < idf.size(); ++i) {
    if (!std::isfinite(idf[i])) throw Error(source, "idf[" + std::to_string(i) + "]", "is not finite");
  }
  return TfidfVectorizer(std::move(vocabulary), std::move(idf), options);
}

std::optional<std::size_t> TfidfVectorizer::column_of(const std::string& term) const {
  const auto found = vocabulary_.find(term);
  if (found == vocabulary_.end()) return std::nullopt;
  return found->second;
}

SparseVector TfidfVectorizer::transform(std::string_view document) const {
  std::map<std::size_t, double> counts;
  for (const std::string& token : analyze(document)) {
    const auto found = vocabulary_.find(token);
    if (found != vocabulary_.end()) counts[found->second] += 1.0;
  }
  SparseVector row;
  double norm = 0.0;
  for (const auto& [column, count] : counts) {
    const double tf = options_.sublinear_tf ? 1.0 + std::log(count) : count;
    const double value = tf * idf_[column];
    row.indices.push_back(column);
    row.values.push_back(value);
    norm += options_.norm == TfidfNorm::kL2 ? value * value : std::abs(value);
  }
  if (options_.norm == TfidfNorm::kL2) norm = std::sqrt(norm);
  if (options_.norm != TfidfNorm::kNone && norm > 0.0) {
    for (double& value : row.values) value /= norm;
  }
  return row;
}

std::unordered_map<std::string, std::size_t> load_tfidf_vocabulary(const std::string& path) {
  const nlohmann::json json = read_json_file(path);
  if (!json.is_object()) throw Error(path, "", "expected an object mapping terms to columns");
  std::unordered_map<std::string, std::size_t> vocabulary;
  for (const auto& [term, column] : json.items()) {
    if (!column.is_number_unsigned()) throw Error(path, term, "column is not a non-negative integer");
    vocabulary.emplace(term, column.get<std::size_t>());
  }
  return vocabulary;
}

double tfidf_similarity(const TfidfVectorizer& vectorizer, const std::vector<std::string>& texts,
                        const std::vector<std::string>& references) {
  const auto join = [](const std::vector<std::string>& parts) {
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += parts[i];
    }
    return joined;
  };
  return cosine_similarity(vectorizer.transform(join(texts)), vectorizer.transform(join(references)));
}

}  // namespace remedi::eval
