// Next-token scores at the end of each sample's prompt, with or without an edit: the log-probs of
// tok1(target_mediated) and tok1(target_unmediated) and the top tokens (METHOD §8.1 steps 4-5,
// first generation step). Efficacy (METHOD §8.2) and paraphrase (§8.3) are built from these.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "data/sample.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

class Editor;

struct TargetScores {
  torch::Tensor mediated_logp;    // (N) float32
  torch::Tensor unmediated_logp;  // (N) float32; undefined when a sample has no unmediated target
  torch::Tensor top_ids;          // (N, K) int64
  torch::Tensor top_logp;         // (N, K) float32
};

struct ScoringOptions {
  std::int64_t batch_size = 16;
  std::int64_t top_k = 10;
  bool progress = false;
  bool allow_missing_entity = false;  // prompts without the entity are scored unedited
};

// `editor` null: the unedited LM. Otherwise the editor's directions (from editor inputs computed at
// its layer) are added at the prompt's entity as in training.
TargetScores score_targets(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor* editor,
                           const std::vector<data::MediationSample>& samples, const ScoringOptions& options);

}  // namespace remedi
