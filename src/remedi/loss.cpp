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

// Log-probabilities (M, V) at flat positions `flat` (M) of the LM edited at `layer` with
// `directions` (undefined: unedited).
torch::Tensor logprobs_at(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                          const torch::Tensor& directions, const torch::Tensor& flat, ComputeMode mode) {
  lm::Intervention edit;
  if (directions.defined()) edit = {layer, directions, batch.edit_ranges, 1.0, 1.0};
  if (mode == ComputeMode::Reference) {  // as the original: every position, padding included
    lm::ForwardOptions options;
    options.logits = lm::LogitsAt::All;
    if (directions.defined()) options.interventions.push_back(edit);
    return rows_at(torch::log_softmax(model.forward(batch.tokens, options).logits, -1), flat);
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
    const torch::Tensor run = edited_run_tokens(batch, flat);
    if (run.defined()) {
      torch::NoGradGuard no_grad;
      lm::ForwardOptions unedited = options;
      unedited.start_hidden = hidden;
      unedited.run_tokens = run.logical_not();
      unedited.captured_keys_values = &before_edit;
      (void)model.forward(batch.tokens, unedited);
      options.run_tokens = run;
      options.given_keys_values = &before_edit;
    }
  }
  const torch::Tensor last = model.forward(batch.tokens, options).last_hidden;  // (B, T, H)
  return torch::log_softmax(model.logits(rows_at(last, flat)), -1);
}

// Unedited log-probabilities at `flat`; efficient mode caches the last block's output there.
torch::Tensor reference_logprobs(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                                 const torch::Tensor& flat, ComputeMode mode) {
  torch::NoGradGuard no_grad;
  if (mode == ComputeMode::Reference) return logprobs_at(model, batch, layer, torch::Tensor(), flat, mode);
  const torch::Tensor& hidden = layer_output(model, batch, layer);
  if (!batch.cached_reference_final.defined() || !batch.cached_read_positions.equal(flat)) {
    lm::ForwardOptions options;
    options.start_layer = layer + 1;
    options.start_hidden = hidden;
    options.logits = lm::LogitsAt::None;
    options.unpadded = true;
    batch.cached_reference_final = rows_at(model.forward(batch.tokens, options).last_hidden, flat);
    batch.cached_read_positions = flat;
  }
  return torch::log_softmax(model.logits(batch.cached_reference_final), -1);
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
  const torch::Tensor edited = logprobs_at(model, batch, layer, directions, read.flat, mode);  // (M, V)
  const torch::Tensor edited_last = edited.index_select(0, read.last.to(device));              // (B, V)

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
    const torch::Tensor reference = reference_logprobs(model, batch, layer, read.flat, mode);
    // KL positions: s in [entity_end - 1, length - 1), i.e. every read position but the last
    const torch::Tensor per_position = kl_per_position(reference, edited) * read.not_last.to(device);  // (M)
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
    const torch::Tensor edited_essence = logprobs_at(model, *essence, layer, directions, at, mode);  // (B, V)
    const torch::Tensor reference_essence = reference_logprobs(model, *essence, layer, at, mode);
    add("essence", *weights.essence, row_mean(kl_per_position(reference_essence, edited_essence)));
  }
  result.total = total;
  result.terms["total"] = total.item<double>();
  return result;
}

}  // namespace remedi
