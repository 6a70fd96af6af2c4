// Bias in Bios error correction by generation (METHOD §8.9): does the edited LM, told a person's bio,
// name and write about the right occupation? The prompts of the two settings, the label log-probs of
// a non-sampled (edited or unedited) forward pass, top-3 predictions, and per-sample fluency and
// consistency against the mean TF-IDF vector of the bios with the same label; then the metrics.
// `remedi eval bias-gen` runs these; the sampling itself is generate_texts (remedi/generation.h).
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "eval/tfidf.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

class Editor;

// The evaluated rows with their prompt replaced: contextual, prompt-in-context with suffix "\n\n"
// ("<bio>.\n\n<first> has the occupation of"); decontextual, the prompt itself. Contextual prompts must
// mention the entity twice (the bio's mention, then the prompt's own, which gets the edit): throws
// remedi::Error naming the sample otherwise (e.g. under --attribute-no-entity).
std::vector<data::MediationSample> bias_prompt_rows(const std::vector<data::MediationSample>& samples,
                                                    bool contextual);
// The mention of the entity in those prompts that gets the edit (METHOD §4.2): 1 contextual, 0 not.
int bias_edit_occurrence(bool contextual);

// Sorted distinct target_mediated of `samples` (the label set, METHOD §3.3).
std::vector<std::string> bias_labels(const std::vector<data::MediationSample>& samples);

// (N, L) float32: log p(tok1(labels[l])) at the last token of rows[i].prompt from one forward pass of
// the LM, edited by `editor` (null: unedited) at mention `occurrence` of the entity as in generation
// (its directions from the rows' editor inputs at its layer). Right-padded, positions from the mask, so
// it equals the original's left-padded pass with the METHOD Q6/Q9 fixes.
torch::Tensor label_logprobs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor* editor,
                             const std::vector<data::MediationSample>& rows,
                             const std::vector<std::string>& labels, int occurrence, std::int64_t batch_size,
                             bool progress);

// Indices of the `k` highest scores (fewer when there are fewer), highest first; equal scores (labels
// sharing a first token, METHOD Q27) keep label order.
std::vector<std::size_t> top_labels(const std::vector<double>& scores, std::size_t k);

// Consistency references: each label's mean of the L2-normalised TF-IDF vectors of the bios
// (source.bio) of the evaluated rows with that label (not re-normalised), with a vectoriser fitted
// (smooth idf) on the bios of every converted row.
class BiasReferences {
 public:
  // `pool`: every converted row (fits the vectoriser); `samples`: the evaluated rows. Throws
  // remedi::Error naming the sample whose source.bio is missing or not a string.
  BiasReferences(const std::vector<data::MediationSample>& pool,
                 const std::vector<data::MediationSample>& samples);
  // cosine (eps 1e-6) of the text's TF-IDF vector and the label's mean vector; 0 for a label no
  // evaluated row has.
  double consistency(const std::string& text, const std::string& label) const;
  const eval::TfidfVectorizer& vectorizer() const { return vectorizer_; }

 private:
  eval::TfidfVectorizer vectorizer_;
  std::map<std::string, eval::SparseVector> mean_of_;
};

// source.bio of a Bias-in-Bios sample; throws remedi::Error naming the sample when absent.
std::string source_bio(const data::MediationSample& sample);

// One evaluated row (the per-sample record of METHOD §8.9).
struct BiasCorrectionRecord {
  std::string id;
  std::string prompt;
  std::string generation;                // the new tokens only
  std::vector<std::string> predictions;  // top-k labels, most likely first
  std::vector<double> logp_predictions;
  std::string target;
  double logp_target = 0.0;
  double fluency = 0.0;
  double consistency = 0.0;
};

// The records of rows whose generations are `texts` and label log-probs `logp` (N, L): top-k
// predictions, the target's log-prob, fluency (weighted n-gram entropy) and consistency.
std::vector<BiasCorrectionRecord> bias_correction_records(const std::vector<data::MediationSample>& rows,
                                                          const std::vector<std::string>& texts,
                                                          const torch::Tensor& logp,
                                                          const std::vector<std::string>& labels,
                                                          const BiasReferences& references, std::size_t k);

// Metrics over records: top-1 and top-k accuracy (eval::top_k_accuracy) with each record's 0/1 hit
// (for bootstrap intervals), and fluency and consistency aggregates with their values kept. Throws
// std::invalid_argument for no records or k = 0.
struct BiasCorrectionMetrics {
  double top1_accuracy = 0.0;
  double topk_accuracy = 0.0;
  std::size_t k = 3;
  std::vector<double> top1_hits;
  std::vector<double> topk_hits;
  eval::Aggregate fluency;
  eval::Aggregate consistency;
};
BiasCorrectionMetrics bias_correction_metrics(const std::vector<BiasCorrectionRecord>& records,
                                              std::size_t k);

}  // namespace remedi
