// A batch of prompts ready for an edited forward pass (METHOD §6.4, §7.2): right-padded tokens, where
// to add each row's direction, where the loss reads, and the targets and editor inputs of each row.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "lm/model.h"

namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

struct EditorConfig;
struct EditorInputs;

struct EditBatch {
  lm::Batch tokens;                // (B, T) right-padded prompts
  torch::Tensor lengths;           // (B) int64 real tokens per row
  torch::Tensor edit_ranges;       // (B, 2) int64 columns [i, j) that receive the direction
  torch::Tensor entity_ends;       // (B) int64 exclusive end of the entity mention's full token range
  torch::Tensor mediated_ids;      // (B) int64 tok1(target_mediated)
  torch::Tensor unmediated_ids;    // (B) int64 tok1(target_unmediated); undefined if a row has none
  torch::Tensor entity_inputs;     // (B, H) float32 editor entity input
  torch::Tensor attribute_inputs;  // (B, H) float32 editor attribute input

  // Unedited activations that never change while an editor trains, filled on first use by the
  // efficient loss (remedi/loss.h): block `layer`'s output, and the last block's output at the
  // positions the loss reads (cached_read_positions).
  std::int64_t cached_layer = -1;
  torch::Tensor cached_layer_output;     // (B, T, H)
  torch::Tensor cached_read_positions;   // (M) int64 flat positions b * T + t
  torch::Tensor cached_reference_final;  // (M, H)
  // Instead of cached_reference_final where the head allows (remedi/loss.cpp, reference_kl): what
  // the KL term needs of the unedited LM at those positions: the final-normed states n (M, H), the
  // logsumexp of the logits (M) and Σ_v p_v W_v (M, H) for the distribution p and the head's weight W.
  torch::Tensor cached_reference_normed;
  torch::Tensor cached_reference_lse;
  torch::Tensor cached_reference_mean_head;
  // Training only, where the trainer's memory budget allows (TrainOptions::prefix_cache_bytes): the
  // keys and values of blocks layer + 1.. at each row's positions before its edit, which the edited
  // pass reads instead of computing them (remedi/loss.cpp, reads_at). Kept across steps, so the
  // forward that computes them runs once per batch instead of once per step. Stored in the padded
  // layout narrowed to the first columns that hold any of them: (B, n_kv_head, columns, head_dim).
  bool keep_prefix_keys_values = false;
  torch::Tensor cached_prefix_flat;        // the read positions they were computed for; undefined: none
  torch::Tensor cached_prefix_run_tokens;  // (B, T) bool: what the edited pass runs; undefined: all
  lm::LayerKeysValues cached_prefix_keys_values;

  std::int64_t size() const { return tokens.input_ids.size(0); }
  // Bytes held by cached_prefix_keys_values.
  std::int64_t prefix_cache_bytes() const;
  // Forgets them (and stops keeping them).
  void drop_prefix_cache();
};

struct EditBatchOptions {
  bool edit_last_entity_token = true;  // else every token of the mention
  int entity_occurrence = 0;           // which mention of the entity in the prompt (METHOD §4.2)
  std::int64_t max_length = -1;        // truncation (the model's context length)
  // A prompt without the entity gets an empty edit range [0, 0) (nothing is edited) and entity end 0
  // instead of an error: neighbourhood prompts about other subjects (eval-fact-gen). Scoring only.
  bool allow_missing_entity = false;
  // A prompt longer than max_length is an error instead of being cut (training: a cut prompt would be
  // trained to predict its target after the cut, not after the prompt).
  bool refuse_truncated = false;
  std::vector<std::string> row_names;  // how errors name each row (default "prompt <row>")
};

// Tokenizes `prompts` right-padded and locates entity occurrence `entity_occurrence` in each.
// Throws remedi::Error naming the row when an entity is not in its prompt.
EditBatch make_edit_batch(const tok::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                          const std::vector<std::string>& entities, const EditBatchOptions& options);

// The batch of samples [begin, end) with their prompts, targets and editor inputs (rows of
// `inputs` aligned with `samples`). `options` as for make_edit_batch, but its edit_last_entity_token
// comes from `editor` and its row_names from the samples' ids. `prompts` overrides the samples'
// prompt field when given (e.g. the essence prompts "<entity> is a", one per sample of the batch).
EditBatch make_sample_batch(const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples, const EditorInputs& inputs,
                            std::size_t begin, std::size_t end, const EditorConfig& editor,
                            EditBatchOptions options, const std::vector<std::string>* prompts = nullptr);

// "<entity> is a" (the essence prompt of METHOD §7.2).
std::string essence_prompt(const std::string& entity);

}  // namespace remedi
