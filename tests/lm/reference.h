// Reads the HF-transformers reference tensors (tests/fixtures/lm/*/reference.safetensors, written
// by tests/reference/make_lm_fixtures.py) into libtorch tensors.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "io/safetensors.h"
#include "lm/model.h"

namespace remedi::test {

inline std::map<std::string, torch::Tensor> load_reference(const std::string& path) {
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> out;
  for (const io::TensorView& view : file.tensors()) {
    torch::Tensor tensor;
    if (view.dtype == io::DType::I64) {
      tensor = torch::empty(view.shape, torch::kInt64);
      std::memcpy(tensor.data_ptr(), view.bytes.data(), view.bytes.size());
    } else {
      tensor = torch::empty(view.shape, torch::kFloat32);
      io::to_f32(view, {tensor.data_ptr<float>(), static_cast<std::size_t>(tensor.numel())}, path);
    }
    out[view.name] = tensor;
  }
  return out;
}

// Largest |a - b| over the positions where mask (B, T) is 1; a and b are (B, T, ...).
inline double max_abs_diff_at(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& mask) {
  const torch::Tensor keep = mask.to(torch::kBool);
  return (a.index({keep}) - b.index({keep})).abs().max().item<double>();
}

// The largest difference at real tokens, relative to the reference's largest value when that is
// above 1. fp32 sums in another order move these outputs by more than 1e-4 absolute: with 4 threads
// (or 2 on a loaded machine) GPT-2's layer-0 states, of size up to 15.5, moved by 2.4e-4, its
// logits (size 14) by 3.1e-4 (CI once measured 2.6e-4 too); a wrong computation moves them by O(1).
inline double scaled_diff_at(const torch::Tensor& actual, const torch::Tensor& expected,
                             const torch::Tensor& mask) {
  return max_abs_diff_at(actual, expected, mask) / std::max(1.0, expected.abs().max().item<double>());
}

// The reference's edit (edit_layer, edit_direction, edit_range: what the transformers hook added).
inline lm::Intervention reference_edit(const std::map<std::string, torch::Tensor>& ref) {
  lm::Intervention edit;
  edit.layer = ref.at("edit_layer").item<std::int64_t>();
  edit.directions = ref.at("edit_direction");
  edit.ranges = ref.at("edit_range");
  return edit;
}

}  // namespace remedi::test
