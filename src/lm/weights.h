// The weights of a causal LM in one layout shared by every family, whatever the file said.
//
// Each family's tensor table (src/lm/families/<name>.cpp, see lm/family.h) maps its HF and GGUF
// tensor names onto these slots; load_weights reads them. Matrices are stored [out, in] (as
// torch.nn.Linear) and fused where one GEMM can do the work of several:
//   qkv_weight [(n_head + 2 * n_kv_head) * head_dim, hidden]: rows are q (all heads), then k, then v
//   gate_up_weight [2 * intermediate, hidden]: gate rows then up rows (gated MLPs: Llama's SwiGLU,
//                  Gemma's GeGLU)
// and their biases likewise. Absent optional tensors (biases, the second norm of GPT-J) are
// undefined tensors.
#pragma once

#include <torch/types.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "lm/config.h"
#include "lm/family.h"
#include "lm/quantized.h"

namespace remedi::lm {

struct LayerWeights {
  torch::Tensor norm1_weight, norm1_bias;  // before attention (and before the MLP when parallel)
  torch::Tensor norm2_weight, norm2_bias;  // before the MLP (undefined for GPT-J)
  torch::Tensor qkv_weight, qkv_bias;
  torch::Tensor out_weight, out_bias;          // attention output projection
  torch::Tensor up_weight, up_bias;            // plain MLP in (GPT-2, GPT-J, NeoX)
  torch::Tensor gate_up_weight, gate_up_bias;  // gated MLP in (Llama)
  torch::Tensor down_weight, down_bias;        // MLP out
  torch::Tensor q_norm_weight, k_norm_weight;  // [head_dim] or [heads * head_dim] (Qwen3, OLMo 2, Gemma 3)
  torch::Tensor post_attention_norm_weight;    // on the attention output (OLMo 2, Gemma 2/3)
  torch::Tensor post_mlp_norm_weight;          // on the MLP output

  // Every slot, in Slot order (lm/family.h), for code that treats all weights alike (dtype
  // conversion, byte counts, the loader).
  std::array<torch::Tensor*, kLayerSlotCount> all();
  std::array<const torch::Tensor*, kLayerSlotCount> all() const;
};

// The members of LayerWeights in Slot order, from Slot::Norm1Weight on.
inline constexpr std::array<torch::Tensor LayerWeights::*, kLayerSlotCount> kLayerSlots{
    &LayerWeights::norm1_weight,
    &LayerWeights::norm1_bias,
    &LayerWeights::norm2_weight,
    &LayerWeights::norm2_bias,
    &LayerWeights::qkv_weight,
    &LayerWeights::qkv_bias,
    &LayerWeights::out_weight,
    &LayerWeights::out_bias,
    &LayerWeights::up_weight,
    &LayerWeights::up_bias,
    &LayerWeights::gate_up_weight,
    &LayerWeights::gate_up_bias,
    &LayerWeights::down_weight,
    &LayerWeights::down_bias,
    &LayerWeights::q_norm_weight,
    &LayerWeights::k_norm_weight,
    &LayerWeights::post_attention_norm_weight,
    &LayerWeights::post_mlp_norm_weight};

inline std::array<torch::Tensor*, kLayerSlotCount> LayerWeights::all() {
  std::array<torch::Tensor*, kLayerSlotCount> slots{};
  for (std::size_t i = 0; i < kLayerSlotCount; ++i) slots[i] = &(this->*kLayerSlots[i]);
  return slots;
}
inline std::array<const torch::Tensor*, kLayerSlotCount> LayerWeights::all() const {
  std::array<const torch::Tensor*, kLayerSlotCount> slots{};
  for (std::size_t i = 0; i < kLayerSlotCount; ++i) slots[i] = &(this->*kLayerSlots[i]);
  return slots;
}

struct ModelWeights {
  torch::Tensor token_embedding;     // [vocab, hidden]
  torch::Tensor position_embedding;  // [max_positions, hidden], GPT-2 only
  std::vector<LayerWeights> layers;
  torch::Tensor final_norm_weight, final_norm_bias;
  torch::Tensor lm_head_weight;  // [vocab, hidden]; aliases token_embedding when tied
  torch::Tensor lm_head_bias;    // GPT-J only

  // Every slot, top-level and per layer (some undefined; a tied head is the embedding tensor again).
  std::vector<const torch::Tensor*> all() const {
    std::vector<const torch::Tensor*> slots{&token_embedding, &position_embedding};
    for (const LayerWeights& layer : layers) {
      for (const torch::Tensor* t : layer.all()) slots.push_back(t);
    }
    for (const torch::Tensor* t : {&final_norm_weight, &final_norm_bias, &lm_head_weight, &lm_head_bias})
      slots.push_back(t);
    return slots;
  }
};

// The members of ModelWeights in Slot order, up to Slot::LmHeadBias.
inline constexpr std::array<torch::Tensor ModelWeights::*, kModelSlotCount> kModelSlots{
    &ModelWeights::token_embedding, &ModelWeights::position_embedding, &ModelWeights::final_norm_weight,
    &ModelWeights::final_norm_bias, &ModelWeights::lm_head_weight,     &ModelWeights::lm_head_bias};

struct LoadOptions {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  // Weight-only quantization (lm/quantized.h): every projection, the head included, kept as blocks
  // of this format (the head Q8_0 under the 4-bit formats, as GGUF files hold it) and multiplied by
  // remedi's CPU kernels; embeddings, norms and activations stay float32. CPU and fp32 only.
  std::optional<QuantFormat> quantized;
};

// Source of named tensors (an HF safetensors checkpoint or a GGUF file), as float32 on the CPU in
// row-major [out, in] layout. GGUF tensors are dequantized; HF Conv1D (GPT-2) is left as stored.
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual bool is_gguf() const = 0;
  virtual bool has(const std::string& name) const = 0;
  // Throws remedi::Error(file, name, ...) if absent or not convertible to float.
  virtual torch::Tensor get(const std::string& name) const = 0;
  virtual std::string path() const = 0;
};

// The tensors of `family`'s table that this config and this file format have, checked against the
// config's shapes (remedi::Error(source.path(), name, ...) on a mismatch) and converted to the
// slots' layout. A head that is not loaded is the token embedding (tied).
ModelWeights load_weights(const FamilyDescription& family, const ModelConfig& config,
                          const TensorSource& source);

}  // namespace remedi::lm
