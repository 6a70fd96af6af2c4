// Architecture hyper-parameters of a causal LM, read from an HF config.json or from GGUF metadata.
// No libtorch here: `remedi inspect` and the tokenizer use it too.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace remedi::io {
class GgufFile;
}

namespace remedi::lm {

// A model family, by the name of its description (lm/family.h; families/families.cpp lists them).
// Editor files record the name, so it never changes. The constants name the families that callers
// test for; a new family needs none.
struct Family {
  std::string_view name;  // "gpt2", "gptj", "gpt_neox", "llama", "qwen2", "qwen3", "olmo2", "gemma2", ...

  static const Family GPT2, GPTJ, NeoX, Llama;
  friend constexpr bool operator==(Family a, Family b) { return a.name == b.name; }
};
inline constexpr Family Family::GPT2{"gpt2"};
inline constexpr Family Family::GPTJ{"gptj"};
inline constexpr Family Family::NeoX{"gpt_neox"};
inline constexpr Family Family::Llama{"llama"};
constexpr std::string_view family_name(Family family) { return family.name; }
std::ostream& operator<<(std::ostream& out, Family family);  // the name (test failure messages)

enum class Activation { GeluNew, GeluExact, Silu };

// How rotary frequencies stretch past the context a model was trained on (lm/rope_scaling.h reads
// every type into one of these and computes each forward's table).
enum class RopeScaling : std::uint8_t {
  None,
  Fixed,     // each inverse frequency divided by its rope_divisors entry (linear, llama3, yarn)
  Dynamic,   // NTK: a forward reaching past rope_original_max_positions grows the base
  LongRope,  // rope_divisors within rope_original_max_positions, rope_long_divisors past it
};

struct ModelConfig {
  Family family = Family::GPT2;
  std::int64_t n_layer = 0;
  std::int64_t hidden_size = 0;
  std::int64_t n_head = 0;
  std::int64_t n_kv_head = 0;  // == n_head unless grouped-query attention
  std::int64_t head_dim = 0;   // hidden_size / n_head
  std::int64_t intermediate_size = 0;
  std::int64_t vocab_size = 0;     // width of the LM head
  std::int64_t max_positions = 0;  // context length
  double norm_eps = 1e-5;          // LayerNorm / RMSNorm epsilon
  Activation activation = Activation::GeluNew;
  // Rotary embeddings (GPT-J, NeoX, Llama). rotary_dim <= head_dim; 0 for GPT-2.
  std::int64_t rotary_dim = 0;
  double rope_theta = 10000.0;
  // GPT-J rotates adjacent pairs (x0,x1),(x2,x3)...; NeoX and Llama rotate halves (x_i, x_{i+d/2}).
  bool rotary_interleaved = false;
  bool use_parallel_residual = false;  // NeoX; GPT-J is always parallel
  bool tie_word_embeddings = false;
  // Linear-layer biases. Llama reads them from config "attention_bias" / "mlp_bias"; the other
  // families have fixed layouts: GPT-2 and NeoX have both, GPT-J only MLP biases. The tensor
  // tables load the bias tensors these flags name.
  bool attention_bias = false;  // q/k/v/o biases
  bool mlp_bias = false;        // MLP biases
  // Sliding-window attention (Gemma 2/3, Phi-3): a query sees the keys fewer than `sliding_window`
  // columns back. 0: every layer attends globally. Layer l is global when (l + 1) % global_every == 0
  // and sliding otherwise (Gemma 2: every other layer; Gemma 3: one in six); global_every 0: every
  // layer slides (Phi-3).
  std::int64_t sliding_window = 0;
  std::int64_t global_every = 1;
  // Rotary scaling (lm/rope_scaling.h): the kind, the divisors of the inverse frequencies (Fixed,
  // LongRope: rope_factor_count = rotary_dim / 2 of them), the factor on cos and sin (YaRN,
  // longrope), and Dynamic's factor; Dynamic and LongRope switch past rope_original_max_positions.
  RopeScaling rope_scaling = RopeScaling::None;
  std::int64_t rope_original_max_positions = 0;
  double rope_attention_factor = 1.0;
  double rope_scaling_factor = 1.0;  // Dynamic
  std::int64_t rope_factor_count = 0;
  std::array<float, 128> rope_divisors{};       // Fixed; LongRope's short factors
  std::array<float, 128> rope_long_divisors{};  // LongRope's long factors
  double rope_local_theta = 0;       // rotary base of sliding layers, never scaled (Gemma 3); 0: rope_theta
  double query_pre_attn_scalar = 0;  // scores are scaled by its -1/2 power; 0: head_dim (Gemma sets it)
  double attention_softcap = 0;      // scores <- cap * tanh(scores / cap) before masking; 0: none
  double final_softcap = 0;          // logits likewise (Gemma 2)
  bool scale_embedding = false;      // token embeddings times sqrt(hidden_size), in their dtype (Gemma)
  std::int64_t bos_token_id = -1;
  std::int64_t eos_token_id = -1;
  std::int64_t pad_token_id = -1;  // -1: use eos
};

// Reads and validates `<dir>/config.json` (or a config.json path) by the key table of the family
// whose description lists its model_type (gpt2, gptj, gpt_neox, llama, mistral, qwen2, qwen3, olmo2,
// gemma2, gemma3_text). Missing or invalid fields throw remedi::Error(path, field, reason).
ModelConfig config_from_hf_json(const std::string& path);

// Whether layer l attends through the sliding window.
constexpr bool is_sliding_layer(const ModelConfig& config, std::int64_t layer) {
  return config.sliding_window > 0 && (config.global_every == 0 || (layer + 1) % config.global_every != 0);
}

// From GGUF metadata: general.architecture (gpt2, gptj, gptneox, llama, qwen2, qwen3, olmo2, gemma2,
// gemma3) picks the family, whose table reads the `<arch>.*` keys.
ModelConfig config_from_gguf(const io::GgufFile& gguf);

// Total parameter count implied by the config: the family's tensor table, as transformers counts it
// (embeddings counted once when tied). Configs from the two readers above always fit in 64 bits;
// for others, overflow throws std::overflow_error.
std::int64_t parameter_count(const ModelConfig& config);

}  // namespace remedi::lm
