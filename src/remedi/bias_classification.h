// REMEDI as a detector of the LM's occupation errors on Bias in Bios ("Bios-Med", METHOD §8.10). The
// LM reads "<bio>. <first> has the occupation of" and ranks the occupations by the log-prob of their
// first token; the probe ranks them by how well the LM's representation of the person (at an entity
// layer) matches the editor's direction for "<first> <occupation statement>". The probe predicts an
// error when the LM's top occupation is not among its own top k. The positive class of the scores
// is "the LM is wrong".
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "remedi/classification.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

class Editor;

// The labels of an evaluation: the sorted distinct target_mediated (titles) of `samples`.
std::vector<std::string> occupation_labels(const std::vector<data::MediationSample>& samples);

// The index in `labels` of each sample's title. Throws remedi::Error naming the sample when a
// title is not a label.
std::vector<std::int64_t> gold_label_indices(const std::vector<data::MediationSample>& samples,
                                             const std::vector<std::string>& labels);

// The sample whose context the editor reads for `label` (METHOD §8.10 step 4, Q18): the attribute is
// the sample's own for its title and "has the occupation of <label>" for any other label; the
// context is "<entity> <attribute>", or the attribute alone with `attribute_alone`
// (--attribute-no-entity). `symmetric` (--symmetric, our variant of METHOD Q18): the template for every
// label, the gold one included, so that no label's direction comes from the bio itself.
data::MediationSample label_sample(const data::MediationSample& sample, const std::string& label,
                                   bool attribute_alone, bool symmetric = false);

// What the editor reads for every sample and label, (N, K, H) float32 on the CPU, at layer `layer`:
// the representation of each label_sample()'s attribute (mean over its tokens) and the entity input
// from the entity string alone (its last token with `entity_last_token`, else the mean over its
// tokens; as in training, METHOD Q29). One precompute pass per label, in batches of `batch_size`.
struct LabelInputs {
  torch::Tensor entity;     // (N, K, H)
  torch::Tensor attribute;  // (N, K, H)
};
LabelInputs label_inputs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                         const std::vector<data::MediationSample>& samples,
                         const std::vector<std::string>& labels, std::int64_t layer, bool entity_last_token,
                         bool attribute_alone, std::int64_t batch_size, bool progress,
                         bool symmetric = false);

// The editor's direction for every sample and label of `inputs` (label_inputs at the editor's layer,
// with its entity input), (N, K, H) float32 on the CPU; one editor pass per label over every sample.
torch::Tensor label_directions(Editor& editor, const LabelInputs& inputs, torch::Device device);

// label_directions of label_inputs: the editor's direction for every sample and label, (N, K, H).
torch::Tensor label_directions(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor& editor,
                               const std::vector<data::MediationSample>& samples,
                               const std::vector<std::string>& labels, bool attribute_alone,
                               std::int64_t batch_size, bool progress, bool symmetric = false);

// The indices of the min(k, K) largest of `scores` (K), largest first; equal scores keep the lower
// index first (labels are sorted, so ties go to the alphabetically first label, METHOD Q27).
std::vector<std::int64_t> top_k_indices(const torch::Tensor& scores, std::size_t k);

struct ErrorClassifierOptions {
  bool normalize = true;  // z-score h_e over the samples and the directions over every (sample, label)
  Similarity similarity = Similarity::Dot;
  std::size_t k = 3;
  // Control task: shuffle y_true (Python's random.shuffle seeded with this) before scoring.
  std::optional<std::uint64_t> shuffle_labels_seed;
  eval::BootstrapOptions bootstrap;
};

struct ErrorClassificationResult {
  std::size_t k = 0;                                   // min(options.k, K)
  torch::Tensor scores;                                // (N, K) sim(h_e, d_label) after normalization
  std::vector<std::vector<std::int64_t>> model_top_k;  // label indices by the LM's log-prob, best first
  std::vector<std::vector<std::int64_t>> probe_top_k;  // label indices by score, best first
  std::vector<bool> lm_wrong;         // y_true: title != model top-1 (shuffled by the control task)
  std::vector<bool> predicted_wrong;  // y_pred: model top-1 not in the probe's top k
  BinaryScores binary;                // positive class: the LM is wrong
  double probe_recall_1 = 0.0;        // title = probe top-1
  double probe_recall_k = 0.0;        // title in the probe's top k
  double model_recall_1 = 0.0;        // title = model top-1
  double model_recall_k = 0.0;        // title in the model's top k
};

// METHOD §8.10 steps 5-8. `entity` (N, H) is h_e, `directions` (N, K, H) the editor's direction per
// sample and label, `label_logp` (N, K) the LM's log-prob of each label, `gold` (N) each sample's
// label index. Throws std::invalid_argument on shape mismatches, a gold index outside the labels,
// fewer than two labels, or normalization asked for fewer than two samples.
ErrorClassificationResult classify_errors(const torch::Tensor& entity, const torch::Tensor& directions,
                                          const torch::Tensor& label_logp,
                                          const std::vector<std::int64_t>& gold,
                                          const ErrorClassifierOptions& options);

}  // namespace remedi
