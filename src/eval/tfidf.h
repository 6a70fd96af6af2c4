// TF-IDF vectors and cosine similarity as scikit-learn's TfidfVectorizer computes them with its
// defaults (METHOD §8.4.2): lower-case; tokens are maximal runs of ≥ 2 Unicode word characters
// between word boundaries (`(?u)\b\w\w+\b`); unigrams; raw counts of vocabulary terms (or
// 1 + ln(count) with sublinear_tf); times the term's idf; the row L2-normalised (an all-zero row
// stays zero). Consistency, essence and the Bias-in-Bios consistency are built on this.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remedi::eval {

// A sparse row: strictly increasing term indices with their values.
struct SparseVector {
  std::vector<std::size_t> indices;
  std::vector<double> values;
};

double dot(const SparseVector& a, const SparseVector& b);
double l2_norm(const SparseVector& v);
// Element-wise mean of `vectors` (an empty list gives an empty vector); not re-normalised.
SparseVector mean_vector(const std::vector<SparseVector>& vectors);
// (a·b) / ((‖a‖ + eps)(‖b‖ + eps)); 0 when either vector is zero.
double cosine_similarity(const SparseVector& a, const SparseVector& b, double eps = 1e-6);

enum class TfidfNorm { kL2, kL1, kNone };

struct TfidfOptions {
  bool smooth_idf = true;     // idf = ln((1 + N) / (1 + df)) + 1; otherwise ln(N / df) + 1
  bool sublinear_tf = false;  // tf = 1 + ln(count) instead of count
  TfidfNorm norm = TfidfNorm::kL2;
};

class TfidfVectorizer {
 public:
  // Learns the vocabulary (every term of `documents`, indexed in sorted order, as scikit-learn
  // does) and the idf of each term. Throws std::invalid_argument if no document has a term.
  static TfidfVectorizer fit(const std::vector<std::string>& documents, const TfidfOptions& options = {});
  // A vectoriser from a given vocabulary (term → column) and idf vector, as the original loads
  // ROME's tfidf_vocab.json / idf.npy. Throws remedi::Error(source, ...) unless the columns are
  // exactly 0..V-1 and `idf` holds V finite values; `source` names the files in messages.
  static TfidfVectorizer from_idf(std::unordered_map<std::string, std::size_t> vocabulary,
                                  std::vector<double> idf, const std::string& source,
                                  const TfidfOptions& options = {});

  // The tokens scikit-learn's default analyzer yields: lower-cased text, `(?u)\b\w\w+\b` matches.
  static std::vector<std::string> analyze(std::string_view document);

  SparseVector transform(std::string_view document) const;
  std::size_t vocabulary_size() const { return idf_.size(); }
  std::optional<std::size_t> column_of(const std::string& term) const;
  const std::vector<double>& idf() const { return idf_; }

 private:
  TfidfVectorizer(std::unordered_map<std::string, std::size_t> vocabulary, std::vector<double> idf,
                  const TfidfOptions& options);

  std::unordered_map<std::string, std::size_t> vocabulary_;
  std::vector<double> idf_;
  TfidfOptions options_;
};

// Reads a JSON object mapping each term to its column (ROME's tfidf_vocab.json). Throws
// remedi::Error(path, field, reason) on a missing file, bad JSON or a non-integer column.
std::unordered_map<std::string, std::size_t> load_tfidf_vocabulary(const std::string& path);

// Cosine similarity (eps 1e-6) of the TF-IDF vectors of the two text lists, each joined by single
// spaces (consistency: generations vs reference snippets; essence: generation vs reference).
double tfidf_similarity(const TfidfVectorizer& vectorizer, const std::vector<std::string>& texts,
                        const std::vector<std::string>& references);

// Python's str.lower() on UTF-8 text, by simple one-to-one case mapping (see docs/METRICS.md).
std::string unicode_lower(std::string_view text);

}  // namespace remedi::eval
