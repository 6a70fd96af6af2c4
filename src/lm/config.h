// Architecture hyper-parameters of a causal LM, read from an HF config.json or from GGUF metadata.
// No libtorch here: `remedi inspect` and the tokenizer use it too.
#pragma once

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
  std::string_view name;  // "gpt2", "gptj", "gpt_neox", "llama"

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
  std::int64_t bos_token_id = -1;
  std::int64_t eos_token_id = -1;
  std::int64_t pad_token_id = -1;  // -1: use eos
};

// Reads and validates `<dir>/config.json` (or a config.json path) by the key table of the family
// whose description lists its model_type (gpt2, gptj, gpt_neox, llama, mistral). Missing or invalid
// fields throw remedi::Error(path, field, reason).
ModelConfig config_from_hf_json(const std::string& path);

// From GGUF metadata: general.architecture (gpt2, gptj, gptneox, llama) picks the family, whose
// table reads the `<arch>.*` keys.
ModelConfig config_from_gguf(const io::GgufFile& gguf);

// Total parameter count implied by the config: the family's tensor table, as transformers counts it
// (embeddings counted once when tied). Configs from the two readers above always fit in 64 bits;
// for others, overflow throws std::overflow_error.
std::int64_t parameter_count(const ModelConfig& config);

}  // namespace remedi::lm
