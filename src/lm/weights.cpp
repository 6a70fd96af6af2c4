#include "lm/weights.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "util/error.h"

namespace remedi::lm {

namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// source.get(name), which must have `shape`.
torch::Tensor load_checked(const TensorSource& source, const std::string& name,
                           const std::vector<std::int64_t>& shape) {
  torch::Tensor tensor = source.get(name);
  if (tensor.sizes() != c10::IntArrayRef(shape)) {
    throw Error(source.path(), name,
                "shape " + shape_string(tensor.sizes()) + " does not match the config, expected " +
                    shape_string(shape));
  }
  return tensor;
}

// NeoX stores query_key_value as rows grouped by head: (head, {q, k, v}, head_dim). Regroup to q
// (all heads), k, v so that self_attention can slice them.
torch::Tensor regroup_qkv(const torch::Tensor& fused, std::int64_t n_head, std::int64_t head_dim) {
  std::vector<std::int64_t> shape{n_head, 3, head_dim};
  for (std::int64_t d = 1; d < fused.dim(); ++d) shape.push_back(fused.size(d));
  const torch::Tensor per_head = fused.reshape(shape);  // (head, 3, head_dim, ...)
  return per_head.transpose(0, 1).reshape(fused.sizes()).contiguous();
}

// llama.cpp's converter reorders the rows of each head of Q and K so that its interleaved rotary
// (pairs x0,x1) matches HF's half-split rotary (x_i, x_{i+d/2}): per head, row (i, half) moves to
// (2i + half). Undo it so that one rotary convention serves HF and GGUF files alike.
torch::Tensor undo_gguf_rotary_permutation(const torch::Tensor& weight, std::int64_t heads,
                                           std::int64_t head_dim) {
  std::vector<std::int64_t> shape{heads, head_dim / 2, 2};
  for (std::int64_t d = 1; d < weight.dim(); ++d) shape.push_back(weight.size(d));
  return weight.reshape(shape).transpose(1, 2).reshape(weight.sizes()).contiguous();
}

// One table row's tensor, checked against the config and brought to its slot's layout.
torch::Tensor load_row(const TensorSpec& row, const std::string& name, const ModelConfig& config,
                       const TensorSource& source) {
  std::vector<std::int64_t> shape;
  for (const Dim dim : row.shape) {
    if (dim != Dim::None) shape.push_back(dim_size(config, dim));
  }
  const bool gguf = source.is_gguf();
  switch (row.layout) {
    case Layout::AsIs:
      break;
    case Layout::HfConv1D:
      if (gguf) break;
      std::reverse(shape.begin(), shape.end());
      return load_checked(source, name, shape).t().contiguous();
    case Layout::HeadGroupedQkv:
      return regroup_qkv(load_checked(source, name, shape), config.n_head, config.head_dim);
    case Layout::GgufRotaryRows:
      if (!gguf) break;
      return undo_gguf_rotary_permutation(load_checked(source, name, shape), shape[0] / config.head_dim,
                                          config.head_dim);
    case Layout::GgufPlusOne:
      if (!gguf) break;
      return load_checked(source, name, shape) - 1.0;
  }
  return load_checked(source, name, shape);
}

torch::Tensor& slot_of(ModelWeights& weights, Slot slot, std::int64_t layer) {
  const auto index = static_cast<std::size_t>(slot);
  if (!is_layer_slot(slot)) return weights.*kModelSlots[index];
  return weights.layers[static_cast<std::size_t>(layer)].*kLayerSlots[index - kModelSlotCount];
}

}  // namespace

ModelWeights load_weights(const FamilyDescription& family, const ModelConfig& config,
                          const TensorSource& source) {
  const bool gguf = source.is_gguf();
  // An HF checkpoint whose token embedding lacks the optional prefix lacks it everywhere.
  std::string dropped_prefix;
  if (!gguf && !family.hf_optional_prefix.empty()) {
    for (const TensorSpec& row : family.tensors) {
      if (row.slot == Slot::TokenEmbedding && !source.has(std::string(row.hf)))
        dropped_prefix = family.hf_optional_prefix;
    }
  }
  // The row's name in this file ("" when the format does not hold it).
  const auto name_of = [&](const TensorSpec& row, std::int64_t layer) {
    std::string name(gguf ? row.gguf : row.hf);
    if (name.empty()) return name;
    if (is_layer_slot(row.slot)) {
      name = std::string(gguf ? kGgufLayers : family.hf_layers) + std::to_string(layer) + "." + name;
    }
    if (!dropped_prefix.empty() && name.starts_with(dropped_prefix)) name.erase(0, dropped_prefix.size());
    return name;
  };

  ModelWeights weights;
  weights.layers.resize(static_cast<std::size_t>(config.n_layer));
  // Loads rows [begin, end) that are not per-layer, or (layer >= 0) that are; rows naming one slot
  // are concatenated in table order.
  const auto load_rows = [&](std::size_t begin, std::size_t end, std::int64_t layer) {
    std::map<Slot, std::vector<torch::Tensor>> parts;
    for (std::size_t i = begin; i < end; ++i) {
      const TensorSpec& row = family.tensors[i];
      if (is_layer_slot(row.slot) != (layer >= 0) || !holds(row.when, config)) continue;
      const std::string name = name_of(row, layer);
      if (!name.empty()) parts[row.slot].push_back(load_row(row, name, config, source));
    }
    for (auto& [slot, tensors] : parts) {
      slot_of(weights, slot, layer) = tensors.size() == 1 ? tensors.front() : torch::cat(tensors);
    }
  };
  // The checkpoint's order: model tensors above the first layer row, the layers, the rest.
  const std::size_t rows = family.tensors.size();
  std::size_t first_layer_row = 0;
  while (first_layer_row < rows && !is_layer_slot(family.tensors[first_layer_row].slot)) ++first_layer_row;
  load_rows(0, first_layer_row, -1);
  for (std::int64_t l = 0; l < config.n_layer; ++l) load_rows(first_layer_row, rows, l);
  load_rows(first_layer_row, rows, -1);
  if (!weights.lm_head_weight.defined()) weights.lm_head_weight = weights.token_embedding;
  return weights;
}

}  // namespace remedi::lm
