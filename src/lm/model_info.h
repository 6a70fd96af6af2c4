// What a model file holds, read from its headers only (no tensor data, so instant even for large
// checkpoints): format, architecture and sizes (lm/config.h), tensors with their storage types and
// shapes, parameter and byte counts, and the GGUF metadata; for a .gguf file or a Hugging Face
// folder (config.json + safetensors).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_view.h"
#include "lm/config.h"

namespace remedi::lm {

struct TensorInfo {
  std::string name;
  io::DType dtype = io::DType::F32;
  std::vector<std::int64_t> shape;  // row-major, outermost first
};

struct ModelFileInfo {
  std::string path;
  std::string format;  // "GGUF v3", "safetensors (2 files)"
  ModelConfig config;
  std::vector<TensorInfo> tensors;              // in file order
  std::uint64_t file_size = 0;                  // bytes of the weight files
  std::map<std::string, std::string> metadata;  // GGUF metadata as display strings (empty for HF)
  std::int64_t total_parameters = 0;
  std::map<std::string, std::int64_t> tensors_per_dtype;  // by dtype name
  // A GGUF file without tensors (a vocabulary file such as llama.cpp's ggml-vocab-*.gguf, written with
  // --vocab-only): `config` holds only vocab_size (the number of tokenizer.ggml.tokens); the
  // architecture and tokenizer model are general.architecture and tokenizer.ggml.model ("" if absent).
  bool vocabulary_only = false;
  std::string architecture;     // vocabulary_only: general.architecture
  std::string tokenizer_model;  // vocabulary_only: tokenizer.ggml.model
};

// Throws remedi::Error naming `path` when it does not exist, is neither a .gguf file nor a folder,
// or cannot be read.
ModelFileInfo inspect_model_file(const std::string& path);

// {path, format, architecture, n_layer, hidden_size, n_head, n_kv_head, head_dim, intermediate_size,
// vocab_size, context_length, rope_theta (null without rotary), rotary_dim, norm_eps,
// tie_word_embeddings, tensor_count, tensors_per_dtype, total_parameters, file_size_bytes} plus
// "metadata" and "tensors" [{name, dtype, shape}] when asked for. A vocabulary-only GGUF gives
// {path, format, architecture, vocabulary_only: true, tokenizer_model, vocab_size, tensor_count,
// file_size_bytes} (plus "metadata").
nlohmann::ordered_json model_file_info_json(const ModelFileInfo& info, bool with_tensors, bool with_metadata);

}  // namespace remedi::lm
