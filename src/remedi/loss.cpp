#include "remedi/loss.h"

#include <torch/torch.h>

#include "remedi/editor.h"
#include "util/error.h"

namespace remedi {

namespace {

// Positions [first[b], lengths[b]) per row, padded by repeating the row's last position: (B, P).
torch::Tensor read_positions(const torch::Tensor& first, const torch::Tensor& lengths) {
  const torch::Tensor count = lengths - first;  // (B) >= 1
  const std::int64_t width = count.max().item<std::int64_t>();
  const torch::Tensor offsets = torch::arange(width, torch::kInt64).unsqueeze(0);  // (1, P)
  return torch::minimum(first.unsqueeze(1) + offsets, (lengths - 1).unsqueeze(1));
}

// Block `layer`'s unedited output for the batch, computed once (no gradients) and cached.
const torch::Tensor& layer_output(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer) {
  if (batch.cached_layer != layer || !batch.cached_layer_output.defined()) {
    torch::NoGradGuard no_grad;
    lm::ForwardOptions options;
    options.stop_after_layer = layer;
    options.capture_layers = {layer};
    options.logits = lm::LogitsAt::None;
    batch.cached_layer_output = model.forward(batch.tokens, options).hidden.at(layer);
    batch.cached_layer = layer;
    batch.cached_read_positions = torch::Tensor();
    batch.cached_reference_final = torch::Tensor();
  }
  return batch.cached_layer_output;
}

// Rows [b] of (B, P, ...) at index (B) -> (B, ...).
torch::Tensor pick(const torch::Tensor& values, const torch::Tensor& index) {
  const torch::Tensor at =
      index.to(values.device()).view({-1, 1, 1}).expand({values.size(0), 1, values.size(2)});
  return values.gather(1, at).squeeze(1);
}

// KL(p_ref || p_edit) summed over the vocabulary: (B, P).
torch::Tensor kl_per_position(const torch::Tensor& reference_logp, const torch::Tensor& edited_logp) {
  return (reference_logp.exp() * (reference_logp - edited_logp)).sum(-1);
}

}  // namespace

torch::Tensor batch_directions(Editor& editor, const EditBatch& batch, torch::Device device) {
  return editor.forward(batch.entity_inputs.to(device), batch.attribute_inputs.to(device));
}

torch::Tensor edited_logprobs(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                              const torch::Tensor& directions, const torch::Tensor& positions,
                              ComputeMode mode) {
  const torch::Device device = model.device();
  lm::Intervention edit;
  if (directions.defined()) edit = {layer, directions, batch.edit_ranges, 1.0, 1.0};
  if (mode == ComputeMode::Reference) {
    lm::ForwardOptions options;
    options.logits = lm::LogitsAt::All;
    if (directions.defined()) options.interventions.push_back(edit);
    const torch::Tensor logits = model.forward(batch.tokens, options).logits;  // (B, T, V)
    const torch::Tensor at =
        positions.to(device).unsqueeze(-1).expand({positions.size(0), positions.size(1), logits.size(2)});
    return torch::log_softmax(logits, -1).gather(1, at);
  }
  const torch::Tensor& hidden = layer_output(model, batch, layer);  // (B, T, H)
  lm::ForwardOptions options;
  options.start_layer = layer + 1;
  options.start_hidden = directions.defined() ? lm::apply_intervention(hidden, edit) : hidden;
  options.logits = lm::LogitsAt::Positions;
  options.logit_positions = positions;
  return torch::log_softmax(model.forward(batch.tokens, options).logits, -1);
}

namespace {

// Unedited log-probabilities at `positions`; efficient mode caches the last block's output there.
torch::Tensor reference_logprobs(const lm::CausalLM& model, EditBatch& batch, std::int64_t layer,
                                 const torch::Tensor& positions, ComputeMode mode) {
  torch::NoGradGuard no_grad;
  if (mode == ComputeMode::Reference)
    return edited_logprobs(model, batch, layer, torch::Tensor(), positions, mode);
  const torch::Tensor& hidden = layer_output(model, batch, layer);
  if (!batch.cached_reference_final.defined() || !batch.cached_read_positions.equal(positions)) {
    lm::ForwardOptions options;
    options.start_layer = layer + 1;
    options.start_hidden = hidden;
    options.logits = lm::LogitsAt::None;
    const torch::Tensor last = model.forward(batch.tokens, options).last_hidden;  // (B, T, H)
    const torch::Tensor at = positions.to(last.device())
                                 .unsqueeze(-1)
                                 .expand({positions.size(0), positions.size(1), last.size(2)});
    batch.cached_reference_final = last.gather(1, at);
    batch.cached_read_positions = positions;
  }
  return torch::log_softmax(model.logits(batch.cached_reference_final), -1);
}

}  // namespace

LossResult remedi_loss(const lm::CausalLM& model, Editor& editor, EditBatch& batch, EditBatch* essence,
                       const LossWeights& weights, ComputeMode mode) {
  const std::int64_t layer = editor.config().layer;
  const torch::Device device = model.device();
  const std::int64_t rows = batch.size();
  const torch::Tensor directions = batch_directions(editor, batch, device);  // (B, H)

  // The loss reads positions from the entity's last token to the last prompt token.
  const torch::Tensor first = batch.entity_ends - 1;
  const torch::Tensor positions = read_positions(first, batch.lengths);  // (B, P)
  const torch::Tensor last_index =
      (batch.lengths - 1 - first).to(device);  // (B) index of the last token in P
  const torch::Tensor edited =
      edited_logprobs(model, batch, layer, directions, positions, mode);  // (B, P, V)
  const torch::Tensor edited_last = pick(edited, last_index);             // (B, V)

  LossResult result;
  torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  const auto add = [&](const std::string& name, double weight, const torch::Tensor& value) {
    const torch::Tensor weighted = weight * value;
    total = total + weighted;
    result.terms[name] = weighted.item<double>();
  };
  if (weights.mediated) {
    const torch::Tensor logp = edited_last.gather(1, batch.mediated_ids.to(device).unsqueeze(1)).squeeze(1);
    add("mediated", *weights.mediated, -logp.mean());
  }
  if (weights.unmediated) {
    if (!batch.unmediated_ids.defined()) {
      throw Error("<argument>", "--lam-u", "set, but the data set has no unmediated targets");
    }
    const torch::Tensor logp = edited_last.gather(1, batch.unmediated_ids.to(device).unsqueeze(1)).squeeze(1);
    // log(1 - p), with p kept below 1 so that a certain unmediated target gives a large finite loss
    add("unmediated", *weights.unmediated, -torch::log1p(-logp.exp().clamp_max(1.0 - 1e-7)).mean());
  }
  if (weights.kl) {
    const torch::Tensor reference = reference_logprobs(model, batch, layer, positions, mode);
    // KL positions: s in [entity_end - 1, length - 1), i.e. every read position but the last
    const torch::Tensor index = torch::arange(positions.size(1), torch::kInt64).unsqueeze(0).to(device);
    const torch::Tensor in_span = (index < last_index.unsqueeze(1)).to(torch::kFloat32);  // (B, P)
    const torch::Tensor per_row = (kl_per_position(reference, edited) * in_span).sum(1);  // (B)
    torch::Tensor kl;
    if (weights.kl_last_row_only) {
      const torch::Tensor nonempty = (last_index > 0).cpu();
      kl = torch::zeros({}, per_row.options());
      for (std::int64_t b = rows - 1; b >= 0; --b) {
        if (nonempty[b].item<bool>()) {
          kl = per_row[b] / static_cast<double>(rows);
          break;
        }
      }
    } else {
      // Q1 fixed: the mean over rows with a non-empty span replaces the original's "last such row",
      // and the original's division by B is kept, so --lam-kl keeps the strength the paper's
      // values were tuned for (see docs/DEVIATIONS.md).
      const torch::Tensor nonempty = (last_index > 0).sum().clamp_min(1).to(per_row.scalar_type());
      kl = per_row.sum() / nonempty / static_cast<double>(rows);
    }
    add("kl", *weights.kl, kl);
  }
  if (weights.norm) add("norm", *weights.norm, directions.norm(2, -1).mean());
  if (weights.essence) {
    if (essence == nullptr) throw Error("<argument>", "--lam-ess", "set, but no essence prompts were built");
    const torch::Tensor at = (essence->lengths - 1).unsqueeze(1);  // (B, 1): the last prompt token
    const torch::Tensor edited_essence = edited_logprobs(model, *essence, layer, directions, at, mode);
    const torch::Tensor reference_essence = reference_logprobs(model, *essence, layer, at, mode);
    add("essence", *weights.essence, kl_per_position(reference_essence, edited_essence).mean());
  }
  result.total = total;
  result.terms["total"] = total.item<double>();
  return result;
}

}  // namespace remedi
