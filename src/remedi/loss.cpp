#include "remedi/loss.h"

#include <torch/torch.h>

#include <algorithm>

#include "remedi/editor.h"
#include "util/error.h"

namespace remedi {

namespace {

// The (row, position) pairs a loss reads, only the real ones (no padding to the longest span):
// M = sum over rows of the row's count. Positions are flat indices b * T + t into the (B, T) batch.
struct ReadPositions {
  torch::Tensor flat;      // (M) int64
  torch::Tensor row;       // (M) int64: b
  torch::Tensor last;      // (B) int64: index into M of each row's last position
  torch::Tensor not_last;  // (M) float32: 0 at each row's last position, else 1
  torch::Tensor count;     // (B) int64: positions per row
};

// Positions [first[b], end[b]) of each row; every row needs at least one.
ReadPositions read_positions(const torch::Tensor& first, const torch::Tensor& end, std::int64_t length) {
  ReadPositions read;
  read.count = end - first;
  if (first.lt(0).any().item<bool>() || read.count.lt(1).any().item<bool>()) {
    throw Error("<batch>", "positions", "a row has no position for the loss to read");
  }
  const std::int64_t rows = first.size(0);
  read.row = torch::repeat_interleave(torch::arange(rows, torch::kInt64), read.count);
  const torch::Tensor ends = read.count.cumsum(0);
  const torch::Tensor starts = ends - read.count;
  const torch::Tensor step =
      torch::arange(read.row.size(0), torch::kInt64) - starts.index_select(0, read.row);
  read.flat = read.row * length + first.index_select(0, read.row) + step;
  read.last = ends - 1;
  read.not_last = torch::ones({read.row.size(0)}, torch::kFloat32).index_fill_(0, read.last, 0.0);
  return read;
}

std::int64_t batch_length(const EditBatch& batch) { return batch.tokens.input_ids.size(1); }

// Block `layer`'s unedited output for the batch, computed once (no gradients) and cached.
const torch::Tensor& layer_output(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer) {
  if (batch.cached_layer != layer || !batch.cached_layer_output.defined()) {
    torch::NoGradGuard no_grad;
    lm::ForwardOptions options;
    options.stop_after_layer = layer;
    options.capture_layers = {layer};
    options.logits = lm::LogitsAt::None;
    options.unpadded = true;
    batch.cached_layer_output = model.forward(batch.tokens, options).hidden.at(layer);
    batch.cached_layer = layer;
    batch.cached_read_positions = torch::Tensor();
    batch.cached_reference_final = torch::Tensor();
    batch.cached_reference_normed = torch::Tensor();
    batch.cached_reference_lse = torch::Tensor();
    batch.cached_reference_mean_head = torch::Tensor();
    batch.cached_prefix_flat = torch::Tensor();
    batch.cached_prefix_run_tokens = torch::Tensor();
    batch.cached_prefix_keys_values = {};
  }
  return batch.cached_layer_output;
}

// Rows `flat` of a (B, T, D) tensor: (M, D).
torch::Tensor rows_at(const torch::Tensor& values, const torch::Tensor& flat) {
  return values.reshape({-1, values.size(-1)}).index_select(0, flat.to(values.device()));
}

// KL(p_ref || p_edit) summed over the vocabulary: (..., V) -> (...).
torch::Tensor kl_per_position(const torch::Tensor& reference_logp, const torch::Tensor& edited_logp) {
  return (reference_logp.exp() * (reference_logp - edited_logp)).sum(-1);
}

// Where the edited pass must run, (B, T) bool: each row from its first edited or read position on.
// Before that, a row's states in blocks > layer are the unedited LM's (attention is causal, and the
// edit adds nothing there). Undefined when every row starts at 0 (nothing to skip).
torch::Tensor edited_run_tokens(const EditBatch& batch, const torch::Tensor& flat) {
  const std::int64_t rows = batch.size();
  const std::int64_t length = batch_length(batch);
  const torch::Tensor row = flat.div(length, "floor");
  const torch::Tensor column = flat - row * length;
  torch::Tensor first = torch::full({rows}, length, torch::kInt64).scatter_reduce(0, row, column, "amin");
  const torch::Tensor ranges = batch.edit_ranges.to(torch::kCPU, torch::kInt64);
  const torch::Tensor begin = ranges.select(1, 0);
  first = torch::where(begin < ranges.select(1, 1), torch::minimum(first, begin), first);
  if (first.max().item<std::int64_t>() <= 0) return {};
  return torch::arange(length, torch::kInt64).unsqueeze(0) >= first.unsqueeze(1);
}

// The first `columns` columns of each tensor of `kv` (B, n_kv_head, T, head_dim), copied so that the
// full tensors' memory is freed; undefined ones stay so.
lm::LayerKeysValues first_columns(const lm::LayerKeysValues& kv, std::int64_t columns) {
  const auto narrow = [columns](const torch::Tensor& t) {
    return t.defined() ? t.narrow(2, 0, columns).clone() : t;
  };
  lm::LayerKeysValues out;
  for (const torch::Tensor& t : kv.keys) out.keys.push_back(narrow(t));
  for (const torch::Tensor& t : kv.values) out.values.push_back(narrow(t));
  return out;
}

// The keys and values of the blocks after the edited layer at each row's positions before its edit
// (`kv`, padded layout: every column, or the first ones, which hold them all) and the tokens the
// edited pass must run (undefined: all of them). `options`
// are the edited pass's, `hidden` the unedited output of the edited layer. Computed by one forward
// without gradients over those positions alone, or taken from the batch where it keeps them
// (EditBatch::keep_prefix_keys_values): the same values, as the positions before the edit do not
// depend on the editor.
torch::Tensor before_edit_keys_values(const lm::CausalLM& model, EditBatch& batch,
                                      const torch::Tensor& hidden, const lm::ForwardOptions& options,
                                      const torch::Tensor& flat, lm::LayerKeysValues& kv) {
  if (batch.keep_prefix_keys_values && batch.cached_prefix_flat.defined() &&
      batch.cached_prefix_flat.equal(flat)) {
    kv = batch.cached_prefix_keys_values;  // the same tensors: attention only reads them
    return batch.cached_prefix_run_tokens;
  }
  const torch::Tensor run = edited_run_tokens(batch, flat);
  if (run.defined()) {
    torch::NoGradGuard no_grad;
    lm::ForwardOptions unedited = options;
    unedited.start_hidden = hidden;
    unedited.run_tokens = run.logical_not();
    unedited.captured_keys_values = &kv;
    (void)model.forward(batch.tokens, unedited);
  }
  if (batch.keep_prefix_keys_values) {
    batch.cached_prefix_flat = flat;
    batch.cached_prefix_run_tokens = run;
    // Only the columns before the last row's edit hold keys and values that are read; none when every
    // token runs (nothing of an earlier computation stays held).
    batch.cached_prefix_keys_values =
        run.defined() ? first_columns(kv, run.logical_not().sum(1).max().item<std::int64_t>())
                      : lm::LayerKeysValues{};
  }
  return run;
}

// The LM's outputs at the positions a loss reads.
struct Reads {
  torch::Tensor logp;    // (M, V) log-probabilities
  torch::Tensor normed;  // (M, H) final-normed last-block states; efficient mode only
  torch::Tensor lse;     // (M) logsumexp of the logits; efficient mode only
};

// The outputs (log-probabilities (M, V) and, in efficient mode, what reference_kl needs) at flat
// positions `flat` (M) of the LM edited at `layer` with `directions` (undefined: unedited).
Reads reads_at(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
               const torch::Tensor& directions, const torch::Tensor& flat, ComputeMode mode) {
  lm::Intervention edit;
  if (directions.defined()) edit = {layer, directions, batch.edit_ranges, 1.0, 1.0};
  if (mode == ComputeMode::Reference) {  // as the original: every position, padding included
    lm::ForwardOptions options;
    options.logits = lm::LogitsAt::All;
    if (directions.defined()) options.interventions.push_back(edit);
    return {rows_at(torch::log_softmax(model.forward(batch.tokens, options).logits, -1), flat), {}, {}};
  }
  const torch::Tensor& hidden = layer_output(model, batch, layer);  // (B, T, H)
  lm::ForwardOptions options;
  options.start_layer = layer + 1;
  options.start_hidden = directions.defined() ? lm::apply_intervention(hidden, edit) : hidden;
  options.logits = lm::LogitsAt::None;
  options.unpadded = true;
  // With gradients, the positions before each row's edit run once without them (their keys and
  // values are all the rest needs) instead of through the forward and backward of the edited pass.
  lm::LayerKeysValues before_edit;
  if (directions.defined() && torch::GradMode::is_enabled()) {
    const torch::Tensor run = before_edit_keys_values(model, batch, hidden, options, flat, before_edit);
    if (run.defined()) {
      options.run_tokens = run;
      options.given_keys_values = &before_edit;
    }
  }
  const torch::Tensor last = model.forward(batch.tokens, options).last_hidden;  // (B, T, H)
  Reads reads;
  reads.normed = model.final_norm(rows_at(last, flat));
  const torch::Tensor logits = model.head(reads.normed);  // (M, V) float32
  reads.lse = torch::logsumexp(logits, -1);
  reads.logp = logits - reads.lse.unsqueeze(-1);
  return reads;
}

torch::Tensor logprobs_at(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                          const torch::Tensor& directions, const torch::Tensor& flat, ComputeMode mode) {
  return reads_at(model, batch, layer, directions, flat, mode).logp;
}

// The unedited last block's output at `flat` (M, H), from the cached block `layer` output.
torch::Tensor reference_final(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                              const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  lm::ForwardOptions options;
  options.start_layer = layer + 1;
  options.start_hidden = layer_output(model, batch, layer);
  options.logits = lm::LogitsAt::None;
  options.unpadded = true;
  return rows_at(model.forward(batch.tokens, options).last_hidden, flat);
}

// Whether the KL term can be taken from the unedited distribution's statistics (reference_kl): the
// logits must be an affine map of the final-normed states (no soft-capping) with a float32 weight (a
// bf16 head rounds each logit, which the statistics would not; a quantized one is not a matrix here).
bool kl_from_statistics(const lm::CausalLM& model) {
  return model.config().final_softcap <= 0 && model.weights().lm_head_weight.scalar_type() == torch::kFloat32;
}

// KL(p_ref || p_edit) per read position (M) of `edited` (reads_at at `flat`). With the logits
// z = W n + b of final-normed states n, p = p_ref and lse the logsumexp of each side's logits,
//   KL = Σ_v p_v (z_ref,v − lse_ref − z_edit,v + lse_edit)
//      = (lse_edit − lse_ref) − (Σ_v p_v W_v)·(n_edit − n_ref)
// (the bias cancels), so efficient mode caches n_ref, lse_ref and Σ_v p_v W_v once per batch and never
// recomputes the unedited logits (M × V × H per step); both differences vanish with the edit, so an
// unchanged state gives exactly 0. Elsewhere the unedited log-probabilities are recomputed (reference
// mode) or computed from the cached last-block states.
torch::Tensor reference_kl(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                           const torch::Tensor& flat, const Reads& edited, ComputeMode mode) {
  if (mode == ComputeMode::Reference) {
    torch::Tensor reference;
    {
      torch::NoGradGuard no_grad;
      reference = logprobs_at(model, batch, layer, torch::Tensor(), flat, mode);
    }
    return kl_per_position(reference, edited.logp);
  }
  const bool fresh = batch.cached_read_positions.defined() && batch.cached_read_positions.equal(flat);
  if (!kl_from_statistics(model)) {
    if (!fresh || !batch.cached_reference_final.defined()) {
      batch.cached_reference_final = reference_final(model, batch, layer, flat);
      batch.cached_read_positions = flat;
    }
    torch::Tensor reference;
    {
      torch::NoGradGuard no_grad;
      reference = torch::log_softmax(model.logits(batch.cached_reference_final), -1);
    }
    return kl_per_position(reference, edited.logp);
  }
  if (!fresh || !batch.cached_reference_normed.defined()) {
    torch::NoGradGuard no_grad;
    batch.cached_reference_normed = model.final_norm(reference_final(model, batch, layer, flat));  // (M, H)
    const torch::Tensor logits = model.head(batch.cached_reference_normed);                        // (M, V)
    batch.cached_reference_lse = torch::logsumexp(logits, -1);                                     // (M)
    const torch::Tensor p = (logits - batch.cached_reference_lse.unsqueeze(-1)).exp();
    batch.cached_reference_mean_head = p.matmul(model.weights().lm_head_weight);  // (M, H)
    batch.cached_read_positions = flat;
  }
  const torch::Tensor moved = edited.normed - batch.cached_reference_normed;  // (M, H)
  return (edited.lse - batch.cached_reference_lse) - (moved * batch.cached_reference_mean_head).sum(-1);
}

}  // namespace

torch::Tensor batch_directions(Editor& editor, const EditBatch& batch, torch::Device device) {
  return editor.forward(batch.entity_inputs.to(device), batch.attribute_inputs.to(device));
}

torch::Tensor edited_logprobs(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                              const torch::Tensor& directions, const torch::Tensor& positions,
                              ComputeMode mode) {
  const torch::Tensor at = positions.to(torch::kCPU, torch::kInt64);
  const torch::Tensor flat =
      (torch::arange(at.size(0), torch::kInt64).unsqueeze(1) * batch_length(batch) + at).reshape(-1);
  const torch::Tensor logp = logprobs_at(model, batch, layer, directions, flat, mode);
  return logp.view({at.size(0), at.size(1), logp.size(-1)});
}

LossResult remedi_loss(const lm::CausalLM& model, Editor& editor, EditBatch& batch, EditBatch* essence,
                       const LossWeights& weights, ComputeMode mode, const BatchShare* share) {
  const std::int64_t layer = editor.config().layer;
  const torch::Device device = model.device();
  const std::int64_t rows = batch.size();
  const torch::Tensor directions = batch_directions(editor, batch, device);  // (B, H)

  // The loss reads positions from the entity's last token to the last prompt token.
  const ReadPositions read = read_positions(batch.entity_ends - 1, batch.lengths, batch_length(batch));
  const Reads edited = reads_at(model, batch, layer, directions, read.flat, mode);
  const torch::Tensor edited_last = edited.logp.index_select(0, read.last.to(device));  // (B, V)

  // The mean over the batch's rows; for a share of a larger batch, this rank's part of that mean.
  const auto row_mean = [&](const torch::Tensor& per_row) {
    return share == nullptr ? per_row.mean() : per_row.sum() / static_cast<double>(share->rows);
  };
  LossResult result;
  torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  const auto add = [&](const std::string& name, double weight, const torch::Tensor& value) {
    const torch::Tensor weighted = weight * value;
    total = total + weighted;
    result.terms[name] = weighted.item<double>();
  };
  if (weights.mediated) {
    const torch::Tensor logp = edited_last.gather(1, batch.mediated_ids.to(device).unsqueeze(1)).squeeze(1);
    add("mediated", *weights.mediated, -row_mean(logp));
  }
  if (weights.unmediated) {
    if (!batch.unmediated_ids.defined()) {
      throw Error("<argument>", "--lam-u", "set, but the data set has no unmediated targets");
    }
    const torch::Tensor logp = edited_last.gather(1, batch.unmediated_ids.to(device).unsqueeze(1)).squeeze(1);
    // log(1 - p), with p kept below 1 so that a certain unmediated target gives a large finite loss
    add("unmediated", *weights.unmediated, -row_mean(torch::log1p(-logp.exp().clamp_max(1.0 - 1e-7))));
  }
  if (weights.kl) {
    // KL positions: s in [entity_end - 1, length - 1), i.e. every read position but the last
    const torch::Tensor per_position =
        reference_kl(model, batch, layer, read.flat, edited, mode) * read.not_last.to(device);  // (M)
    const torch::Tensor per_row =
        torch::zeros({rows}, per_position.options()).index_add(0, read.row.to(device), per_position);  // (B)
    const torch::Tensor nonempty_rows = read.count > 1;  // (B) rows with a KL position
    torch::Tensor kl;
    if (share != nullptr) {
      if (!weights.kl_last_row_only) {
        kl = per_row.sum() / static_cast<double>(std::max<std::int64_t>(1, share->kl_rows)) /
             static_cast<double>(share->rows);
      } else if (share->last_kl_row >= 0) {
        kl = per_row[share->last_kl_row] / static_cast<double>(share->rows);
      } else {
        kl = per_row.sum() * 0.0;  // the whole batch's last such row is on another rank
      }
    } else if (weights.kl_last_row_only) {
      kl = torch::zeros({}, per_row.options());
      for (std::int64_t b = rows - 1; b >= 0; --b) {
        if (nonempty_rows[b].item<bool>()) {
          kl = per_row[b] / static_cast<double>(rows);
          break;
        }
      }
    } else {
      // METHOD Q1 fixed: the mean over rows with a non-empty span replaces the original's "last such row",
      // and the original's division by B is kept, so --lam-kl keeps the strength the paper's
      // values were tuned for (see docs/DEVIATIONS.md).
      const torch::Tensor nonempty = nonempty_rows.sum().clamp_min(1).to(per_row.scalar_type());
      kl = per_row.sum() / nonempty / static_cast<double>(rows);
    }
    add("kl", *weights.kl, kl);
  }
  if (weights.norm) add("norm", *weights.norm, row_mean(directions.norm(2, -1)));
  if (weights.essence) {
    if (essence == nullptr) throw Error("<argument>", "--lam-ess", "set, but no essence prompts were built");
    const std::int64_t length = batch_length(*essence);
    const torch::Tensor at = torch::arange(essence->size(), torch::kInt64) * length + essence->lengths - 1;
    const Reads edited_essence = reads_at(model, *essence, layer, directions, at, mode);
    add("essence", *weights.essence,
        row_mean(reference_kl(model, *essence, layer, at, edited_essence, mode)));
  }
  result.total = total;
  result.terms["total"] = total.item<double>();
  return result;
}

}  // namespace remedi
