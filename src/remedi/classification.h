// REMEDI as a classifier of the LM's factual errors (METHOD §5.3, §8.8): the editor's directions for
// the new and the true attribute are compared with the LM's own representation of the entity, and
// the closer one predicts which object the LM will produce. Two tasks:
//   contextual   - the new fact is stated in the context before the prompt: will the LM follow it?
//   decontextual - the bare prompt: does the LM already know the true fact?
// The positive class of the reported scores is "the LM is wrong" (labels and predictions negated).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

class Editor;

// What the LM does with the prompt, and how it represents the entity there, for every sample
// (float32, CPU). Entity vectors are the hidden state of the entity's last token after block l.
struct EntityProbes {
  std::map<std::int64_t, torch::Tensor> in_context;  // l -> (N, H): prompt-in-context, 2nd mention
  std::map<std::int64_t, torch::Tensor> in_prompt;   // l -> (N, H): the bare prompt, 1st mention
  torch::Tensor in_context_new_logp;                 // (N) log p(tok1(new) | prompt-in-context)
  torch::Tensor in_context_true_logp;                // (N) log p(tok1(true) | prompt-in-context)
  torch::Tensor in_prompt_new_logp;                  // (N) log p(tok1(new) | prompt)
  torch::Tensor in_prompt_true_logp;                 // (N) log p(tok1(true) | prompt)
};

// One full forward of prompt-in-context (METHOD §3.7, default construction) and one of the prompt per
// batch, capturing `layers`. Every sample needs both targets (CounterFact). Throws remedi::Error
// naming the sample and field when the entity cannot be located.
EntityProbes probe_entities(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples,
                            const std::vector<std::int64_t>& layers, std::int64_t batch_size, bool progress);

// What the LM does with the prompt placed after its context alone (METHOD §5.3, §8.10): the hidden
// state of the entity's last token in its prompt mention (occurrence 1) after each of `layers`, and
// the log-probs at the last token of the given token ids, the same ids for every sample (Bias in
// Bios: tok1 of every label). float32, CPU. Throws remedi::Error naming the sample when the entity
// cannot be located.
struct InContextProbe {
  std::map<std::int64_t, torch::Tensor> entity;  // l -> (N, H)
  torch::Tensor logp;                            // (N, K) log p(token_ids[k] | prompt-in-context)
};
InContextProbe probe_in_context(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                const std::vector<data::MediationSample>& samples,
                                const std::vector<std::int64_t>& layers,
                                const std::vector<std::int64_t>& token_ids, std::int64_t batch_size,
                                bool progress);

enum class Similarity { Dot, Cosine };

// sim(a, b) along the last dimension, broadcasting the others: the dot product, or the cosine
// (eps 1e-8).
torch::Tensor similarity(const torch::Tensor& a, const torch::Tensor& b, Similarity kind);

struct ClassifierOptions {
  bool normalize = true;  // standardize h_e, d_target and d_comparator separately over the samples
  Similarity similarity = Similarity::Dot;
  // Control task: shuffle the labels (Python's random.shuffle seeded with this) before scoring.
  std::optional<std::uint64_t> shuffle_labels_seed;
  eval::BootstrapOptions bootstrap;
};

struct ScoreWithInterval {
  double value = 0.0;
  eval::ConfidenceInterval ci95;
};

// A binary classifier's confusion counts and scores, each with its 95% percentile-bootstrap interval.
struct BinaryScores {
  eval::BinaryConfusion confusion;
  ScoreWithInterval accuracy, f1, mcc;
};
// `truth` and `predicted` with `true` the positive class. Throws std::invalid_argument when the
// lengths differ or there is no sample.
BinaryScores score_binary(const std::vector<bool>& truth, const std::vector<bool>& predicted,
                          const eval::BootstrapOptions& bootstrap);

struct ClassificationResult {
  torch::Tensor score_target;         // (N) sim(h_e, d_target) after normalization
  torch::Tensor score_comparator;     // (N) sim(h_e, d_comparator)
  std::vector<bool> lm_right;         // label before negation: logp(target) > logp(comparator)
  std::vector<bool> predicted_right;  // score_target > score_comparator
  eval::BinaryConfusion confusion;    // positive class: the LM is wrong
  ScoreWithInterval accuracy, f1, mcc;
};

// One task of METHOD §8.8 steps 3-7. `entity` (N, H) is h_e; `target` and `comparator` (N, H) are the
// editor's directions for the attribute the task expects (new in context, true without) and for
// the other one; logps (N) are the LM's log-probs of the two objects. Throws std::invalid_argument
// on shape mismatches or when normalization is asked for fewer than two samples.
ClassificationResult classify(const torch::Tensor& entity, const torch::Tensor& target,
                              const torch::Tensor& comparator, const torch::Tensor& target_logp,
                              const torch::Tensor& comparator_logp, const ClassifierOptions& options);

// Per-dimension standardization over rows: (x - mean) / sample std (N - 1). A dimension with no
// spread becomes 0 instead of dividing by zero (docs/DEVIATIONS.md).
torch::Tensor standardize(const torch::Tensor& rows);

}  // namespace remedi
