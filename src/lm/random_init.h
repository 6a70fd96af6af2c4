// The control model of the factual-error classification benchmark (METHOD §8.8, §8.13): a copy of a
// model in the same format (HF folder -> <out>/model.safetensors plus the folder's other files; GGUF ->
// <out>/model.gguf with all metadata) whose weights are drawn afresh by an explicit rule from one seeded
// generator (METHOD Q24), so that the same seed gives the same bytes. <out>/random_init.json records
// the source, the seed and the rule.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "io/tensor_view.h"

namespace remedi::lm {

// The rule in words, as random_init.json records it.
extern const char* const kRandomInitRule;

// How one tensor of the control model is filled.
enum class TensorInit { Normal, Ones, Zeros, Copy };
struct TensorInitPlan {
  TensorInit init = TensorInit::Copy;
  double std = 0;  // for Normal
};

// METHOD §8.13's rule (Hugging Face's _init_weights for these families), made explicit: a
// floating-point *.weight or *.bias with 2 dims ~ Normal(0, initializer_range), GPT-2's residual
// output projections (attn.c_proj / mlp.c_proj, GGUF attn_output / ffn_down) with
// initializer_range / sqrt(2 n_layer); with 1 dim *.weight = 1 and *.bias = 0; anything else
// (attention-mask buffers, llama.cpp's rotary frequencies, integer tensors) copied.
struct RandomInitRule {
  double initializer_range = 0.02;  // config.json's, else Hugging Face's default
  bool gpt2 = false;
  bool gguf = false;
  std::int64_t n_layer = 1;

  double residual_std() const;
  bool is_residual_projection(const std::string& name) const;
  TensorInitPlan plan(const io::TensorView& view) const;
};

// The rule for the model file or folder at `path` (a .gguf file or an HF folder; config.json's
// initializer_range for a folder). Throws remedi::Error naming the file for anything else, or for an
// initializer_range that is not a positive number.
RandomInitRule random_init_rule(const std::string& path);

// Writes the control model of `name_or_path` (a short name, lm/model_path.h, or a path) with `seed`
// into `out_dir`, which must be new or empty: everything goes into a temporary sibling folder that is
// renamed to `out_dir` at the end, so the folder appears complete or not at all. Returns what
// random_init.json holds (source, seed, initializer_range, residual_projection_std for GPT-2, rule,
// format, tensors {normal, ones, zeros, copied}) plus "out_dir", the folder's absolute path. Throws
// remedi::Error naming --out-dir or --model for a bad folder or model.
nlohmann::ordered_json write_random_init_model(const std::string& name_or_path, const std::string& out_dir,
                                               std::uint64_t seed);

}  // namespace remedi::lm
