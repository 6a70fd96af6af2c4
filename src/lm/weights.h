// The weights of a causal LM in one layout shared by every family, whatever the file said.
//
// Each family's file (gpt2.cpp, gptj.cpp, neox.cpp, llama.cpp) holds the table that maps its HF and
// GGUF tensor names onto these slots, and its block's forward. Matrices are stored [out, in] (as
// torch.nn.Linear) and fused where one GEMM can do the work of several:
//   qkv_weight [(n_head + 2 * n_kv_head) * head_dim, hidden]: rows are q (all heads), then k, then v
//   gate_up_weight [2 * intermediate, hidden]: gate rows then up rows (Llama's SwiGLU)
// Absent optional tensors (biases, the second norm of GPT-J) are undefined tensors.
#pragma once

#include <torch/types.h>

#include <array>
#include <string>
#include <vector>

#include "lm/config.h"

namespace remedi::lm {

struct LayerWeights {
  torch::Tensor norm1_weight, norm1_bias;  // before attention (and before the MLP when parallel)
  torch::Tensor norm2_weight, norm2_bias;  // before the MLP (undefined for GPT-J)
  torch::Tensor qkv_weight, qkv_bias;
  torch::Tensor out_weight, out_bias;    // attention output projection
  torch::Tensor up_weight, up_bias;      // MLP in (GPT-2/GPT-J/NeoX); undefined for Llama
  torch::Tensor gate_up_weight;          // Llama only
  torch::Tensor down_weight, down_bias;  // MLP out

  // Every slot, for code that treats all weights alike (dtype conversion, byte counts).
  std::array<torch::Tensor*, 13> all() {
    return {&norm1_weight, &norm1_bias, &norm2_weight, &norm2_bias,     &qkv_weight,  &qkv_bias, &out_weight,
            &out_bias,     &up_weight,  &up_bias,      &gate_up_weight, &down_weight, &down_bias};
  }
  std::array<const torch::Tensor*, 13> all() const {
    return {&norm1_weight, &norm1_bias, &norm2_weight, &norm2_bias,     &qkv_weight,  &qkv_bias, &out_weight,
            &out_bias,     &up_weight,  &up_bias,      &gate_up_weight, &down_weight, &down_bias};
  }
};

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

struct LoadOptions {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
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

// Per-family mapping of file tensors onto ModelWeights (defined in each family's file).
ModelWeights load_gpt2_weights(const ModelConfig& config, const TensorSource& source);
ModelWeights load_gptj_weights(const ModelConfig& config, const TensorSource& source);
ModelWeights load_neox_weights(const ModelConfig& config, const TensorSource& source);
ModelWeights load_llama_weights(const ModelConfig& config, const TensorSource& source);

// Checks the shape of a loaded tensor; throws remedi::Error(source.path(), name, ...) on mismatch.
torch::Tensor expect_shape(const TensorSource& source, const std::string& name, torch::Tensor tensor,
                           std::vector<std::int64_t> shape);
// source.get(name) with its shape checked.
torch::Tensor load_checked(const TensorSource& source, const std::string& name,
                           std::vector<std::int64_t> shape);

}  // namespace remedi::lm
