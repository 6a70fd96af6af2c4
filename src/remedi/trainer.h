// The training loop of METHOD §7.3-7.4: AdamW on the editor's parameters only, an epoch-0 pass that
// only measures, early stopping on the mean validation loss that restores the best weights (METHOD Q2 fixed;
// `restore_best = false` keeps the original's last weights), batches in order, and a checkpoint after
// every epoch (written by atomic rename) from which `resume` continues a killed run exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "remedi/edit_batch.h"
#include "remedi/loss.h"

namespace remedi {

class Editor;
struct EditorConfig;
struct EditorInputs;

namespace dist {
class Group;
}

struct TrainOptions {
  LossWeights weights;
  double lr = 1e-3;
  double weight_decay = 0.01;
  double adam_eps = 1e-8;  // the original uses 1e-4 with an fp16 LM
  std::int64_t max_epochs = 20;
  std::int64_t patience = 2;
  ComputeMode mode = ComputeMode::Efficient;  // Reference: the LM trainable too, as the original (METHOD Q4)
  // Efficient mode: memory for keeping each training batch's keys and values before its edits across
  // epochs (EditBatch::keep_prefix_keys_values), so that the forward computing them runs once per
  // batch instead of once per step. Batches are kept in order until the next would exceed it; 0: none.
  // The results are the same either way.
  std::int64_t prefix_cache_bytes = std::int64_t{512} << 20;
  bool restore_best = true;
  std::string checkpoint_path;  // empty: no checkpoints
  bool resume = false;          // continue from checkpoint_path if it exists
  // What the run was asked, recorded in each checkpoint: resuming from a checkpoint written with other
  // arguments is refused, naming each that differs (null: not recorded, not checked).
  nlohmann::json arguments;
  bool progress = true;
  std::string label;  // progress-bar prefix, e.g. "linear/1"
  // Called after each epoch's checkpoint is written (tests stop a run here to simulate a kill).
  std::function<void(std::int64_t epoch)> after_epoch;
  // Data parallel (remedi/distributed.h): the splits are sharded (make_sharded_training_split), each
  // step's loss terms and editor gradients are summed over the ranks, every rank steps the same AdamW,
  // and rank 0 alone writes the checkpoint. Null: one process.
  dist::Group* group = nullptr;
};

// Batches of one split; `essence` holds the same samples' "<entity> is a" batches when the essence
// term is on (else empty).
struct TrainingSplit {
  std::vector<EditBatch> batches;
  std::vector<EditBatch> essence;
  // Data parallel only: one entry per batch of the whole split, in order. `batch` indexes `batches`
  // (this rank's rows of that batch; -1: it has none), `share` says what remedi_loss needs about the
  // whole batch. Empty: `batches` are whole batches (one process).
  struct Part {
    std::int64_t batch = -1;
    BatchShare share;
  };
  std::vector<Part> parts;
  std::int64_t global_samples = 0;  // data parallel: the whole split's samples
  std::int64_t samples() const;     // the whole split's samples
};

// Batches of `batch_size` samples in order, with the essence prompts when `with_essence`.
TrainingSplit make_training_split(const tok::Tokenizer& tokenizer,
                                  const std::vector<data::MediationSample>& samples,
                                  const EditorInputs& inputs, const EditorConfig& editor,
                                  std::int64_t batch_size, std::int64_t max_length, bool with_essence);

// Data parallel: the positions in a split of `count` samples of the rows this rank takes, in order:
// of every batch of `batch_size`, its dist::shard. Precompute only these rows' editor inputs.
std::vector<std::size_t> shard_rows(std::size_t count, std::int64_t batch_size, int rank, int ranks);

// Data parallel: this rank's part of make_training_split(all the split's samples): `rows` are
// shard_rows(...), `inputs` their editor inputs (row i of `inputs` for samples[rows[i]]). Collective:
// every rank of `group` calls it with the same split.
TrainingSplit make_sharded_training_split(const tok::Tokenizer& tokenizer,
                                          const std::vector<data::MediationSample>& samples,
                                          const std::vector<std::size_t>& rows, const EditorInputs& inputs,
                                          const EditorConfig& editor, std::int64_t batch_size,
                                          std::int64_t max_length, bool with_essence, dist::Group& group);

struct EpochRecord {
  std::int64_t epoch = 0;
  double train_loss = 0;
  double validation_loss = 0;
  std::map<std::string, double> validation_terms;  // mean over batches of each weighted term
  bool improved = false;
  double seconds = 0;
};

struct TrainReport {
  std::vector<EpochRecord> epochs;
  std::int64_t best_epoch = -1;
  double best_validation_loss = 0;
  bool stopped_early = false;
  bool resumed = false;
  double train_seconds = 0;        // training passes (epochs >= 1), before a resume included
  std::int64_t train_samples = 0;  // samples processed by those passes
};

TrainReport train_editor(const lm::CausalLM& model, Editor& editor, TrainingSplit& train,
                         TrainingSplit& validation, const TrainOptions& options);

// Mean loss over a split without gradients (the validation pass), and the mean of each term.
double evaluate_loss(const lm::CausalLM& model, Editor& editor, TrainingSplit& split,
                     const TrainOptions& options, std::map<std::string, double>* terms = nullptr);

}  // namespace remedi
