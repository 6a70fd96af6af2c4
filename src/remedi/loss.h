// The REMEDI training loss (METHOD §7.2) and the edited forward passes it needs.
//
// Efficient mode (default) exploits that the LM is frozen: block l's output of a prompt and the
// unedited last-block output at the positions the loss reads never change while an editor trains,
// so they are computed once (without gradients) and cached in the EditBatch; each step then runs
// only blocks l+1..L-1 on the edited hidden states of the real tokens (no padding), and the head
// only at the (row, position) pairs the loss reads (entity's last token .. last prompt token). With
// gradients, the positions of each row before its edit (and before what the loss reads) go through
// those blocks once more without gradients, for their keys and values, and only the rest through
// the forward and backward of the edited pass: their states do not depend on the editor. The KL term
// reads the unedited distribution through cached statistics instead of recomputing its logits (loss.cpp,
// reference_kl). Reference mode
// recomputes everything as the original does: full forwards from the embeddings with logits at every
// position, for both the edited and the unedited pass. Both give the same loss (tests/remedi/loss_test.cpp).
#pragma once

#include <torch/types.h>

#include <map>
#include <optional>
#include <string>

#include "remedi/edit_batch.h"

namespace remedi {

class Editor;

enum class ComputeMode { Efficient, Reference };

// A weight that is unset skips its term entirely (METHOD §7.2).
struct LossWeights {
  std::optional<double> mediated = 1.0;    // lam_m
  std::optional<double> unmediated = 1.0;  // lam_u (needs unmediated targets)
  std::optional<double> kl = 10.0;         // lam_kl
  std::optional<double> norm;              // lam_norm
  std::optional<double> essence;           // lam_ess
  // METHOD Q1 faithful: the KL term is the last non-empty row's KL / B (the original's accumulation bug)
  // instead of the mean over rows.
  bool kl_last_row_only = false;
};

struct LossResult {
  torch::Tensor total;                  // scalar, differentiable in the editor's parameters
  std::map<std::string, double> terms;  // each enabled term's weighted value ("mediated", "kl", ...)
};

// One rank's part of a batch split across data-parallel ranks (remedi/distributed.h). Given it,
// remedi_loss returns this rank's share of the whole batch's loss: every mean over rows becomes a sum
// over this rank's rows divided by the whole batch's count, so the ranks' totals, terms and gradients
// add up to those of the whole batch in one process.
struct BatchShare {
  std::int64_t rows = 0;          // rows of the whole batch (B)
  std::int64_t kl_rows = 0;       // rows of the whole batch with a KL position
  std::int64_t last_kl_row = -1;  // --faithful (Q1): the local row that is the whole batch's last row
                                  // with a KL position; -1: that row is on another rank
};

// Directions for the batch's rows from its editor inputs.
torch::Tensor batch_directions(Editor& editor, const EditBatch& batch, torch::Device device);

// Log-probabilities (B, P, V) at `positions` (B, P) of the LM edited at `layer` with `directions`
// added at batch.edit_ranges (alpha = beta = 1); undefined directions: the unedited LM. Efficient
// mode reads and fills the batch's layer cache.
torch::Tensor edited_logprobs(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                              const torch::Tensor& directions, const torch::Tensor& positions,
                              ComputeMode mode);

// The loss of `editor` on `batch` (and `essence`, the same samples' "<entity> is a" prompts, when
// weights.essence is set). Builds the autograd graph unless called under NoGradGuard. `share`: the
// batch is one rank's part of a larger one (see BatchShare); null: the batch is whole.
LossResult remedi_loss(const lm::CausalLM& model, Editor& editor, EditBatch& batch, EditBatch* essence,
                       const LossWeights& weights, ComputeMode mode, const BatchShare* share = nullptr);

}  // namespace remedi
