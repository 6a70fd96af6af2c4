// What makes a model family, as data: each family's file (src/lm/families/<name>.cpp) fills one
// FamilyDescription and families/families.cpp lists them, after llama.cpp's per-architecture tables.
// Generic code reads the description, so nothing else switches over families:
//   config.cpp   reads config.json and GGUF metadata by the key tables, and counts parameters by
//                the tensor table;
//   weights.cpp  loads the tensors named by the tensor table into ModelWeights (lm/weights.h);
//   layers.cpp   runs every block as the block recipe says.
// No libtorch here: the config readers are part of remedi_base (fuzzed, and usable without
// libtorch), so the descriptions are too, and the block is a recipe rather than a function.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "lm/config.h"

namespace remedi::lm {

class JsonConfig;  // lm/config_reader.h
class GgufKeys;

// ---- Config tables ----

// A default size: `value`, or `value` times a field read before (times(4, &ModelConfig::hidden_size)).
struct SizeFallback {
  constexpr SizeFallback(std::int64_t v = 0, std::int64_t ModelConfig::*t = nullptr) : value(v), times(t) {}
  std::int64_t value;
  std::int64_t ModelConfig::*times;
};
constexpr SizeFallback times(std::int64_t factor, std::int64_t ModelConfig::*field) {
  return {factor, field};
}

// One row of a config table: how one ModelConfig field is read, or one check. Rows run in order, so
// a fallback or a check may use the fields of the rows above it. `Reader` is JsonConfig (config.json
// keys; each has a fallback, transformers' class default) or GgufKeys (GGUF keys without the
// "<arch>." prefix; rows without a fallback are required). Build rows with the functions below.
template <class Reader>
struct ConfigKey {
  enum class Kind : std::uint8_t {
    Size,        // positive integer, at most 2^32, into int_field
    Number,      // positive number into number_field
    Flag,        // true / false into flag_field
    TokenId,     // token id into int_field (config.json may give a list: its first entry)
    Activation,  // activation name (gelu_new, gelu, silu, ...) into ModelConfig::activation
    Refuse,      // the value flag_fallback is refused: "<value> is not supported"
    KvHeads,     // n_kv_head, which must divide n_head
    HeadDim,     // head_dim: `key` where the file has it, else hidden_size / n_head (errors name other_key)
    Step,        // run(): what a row cannot say
  };

  Kind kind = Kind::Step;
  std::string_view key = {};
  std::string_view other_key = {};
  std::int64_t ModelConfig::*int_field = nullptr;
  double ModelConfig::*number_field = nullptr;
  bool ModelConfig::*flag_field = nullptr;
  bool required = false;
  SizeFallback size_fallback = {};
  double number_fallback = 0;
  bool flag_fallback = false;
  std::string_view text_fallback = {};
  void (*run)(const Reader&, ModelConfig&) = nullptr;

  static constexpr ConfigKey size(std::string_view key, std::int64_t ModelConfig::*field,
                                  SizeFallback fallback) {
    return {.kind = Kind::Size, .key = key, .int_field = field, .size_fallback = fallback};
  }
  static constexpr ConfigKey size(std::string_view key, std::int64_t ModelConfig::*field) {
    return {.kind = Kind::Size, .key = key, .int_field = field, .required = true};
  }
  static constexpr ConfigKey number(std::string_view key, double ModelConfig::*field, double fallback) {
    return {.kind = Kind::Number, .key = key, .number_field = field, .number_fallback = fallback};
  }
  static constexpr ConfigKey number(std::string_view key, double ModelConfig::*field) {
    return {.kind = Kind::Number, .key = key, .number_field = field, .required = true};
  }
  static constexpr ConfigKey flag(std::string_view key, bool ModelConfig::*field, bool fallback) {
    return {.kind = Kind::Flag, .key = key, .flag_field = field, .flag_fallback = fallback};
  }
  static constexpr ConfigKey token(std::string_view key, std::int64_t ModelConfig::*field,
                                   std::int64_t fallback) {
    return {.kind = Kind::TokenId, .key = key, .int_field = field, .size_fallback = fallback};
  }
  static constexpr ConfigKey activation(std::string_view key, std::string_view fallback) {
    return {.kind = Kind::Activation, .key = key, .text_fallback = fallback};
  }
  // A flag whose other value the runtime does not implement; absent means the supported value.
  static constexpr ConfigKey refuse(std::string_view key, bool refused) {
    return {.kind = Kind::Refuse, .key = key, .flag_fallback = refused};
  }
  static constexpr ConfigKey kv_heads(std::string_view key, SizeFallback fallback) {
    return {.kind = Kind::KvHeads, .key = key, .size_fallback = fallback};
  }
  static constexpr ConfigKey head_dim(std::string_view heads_key, std::string_view head_dim_key = {}) {
    return {.kind = Kind::HeadDim, .key = head_dim_key, .other_key = heads_key};
  }
  static constexpr ConfigKey step(void (*run)(const Reader&, ModelConfig&)) {
    return {.kind = Kind::Step, .run = run};
  }
};
using HfKey = ConfigKey<JsonConfig>;
using GgufKey = ConfigKey<GgufKeys>;

// A config.json model_type the family reads, and its rows.
struct HfModelType {
  std::string_view name;
  std::span<const HfKey> keys;
};

// ---- Tensor tables ----

// Where a tensor goes: the members of ModelWeights, then those of LayerWeights (lm/weights.h maps
// each slot to its member).
enum class Slot : std::uint8_t {
  TokenEmbedding,
  PositionEmbedding,
  FinalNormWeight,
  FinalNormBias,
  LmHeadWeight,  // absent (tied, or not in this format): the token embedding
  LmHeadBias,
  Norm1Weight,  // first per-layer slot
  Norm1Bias,
  Norm2Weight,
  Norm2Bias,
  QkvWeight,
  QkvBias,
  OutWeight,
  OutBias,
  UpWeight,
  UpBias,
  GateUpWeight,
  GateUpBias,
  DownWeight,
  DownBias,
  QNormWeight,              // RMSNorm of the queries: per head (head_dim) or the whole projection
  KNormWeight,              // and of the keys (Qwen3, OLMo 2, Gemma 3)
  PostAttentionNormWeight,  // on the attention's output, before the residual add (OLMo 2, Gemma 2/3)
  PostMlpNormWeight,        // on the MLP's output, before the residual add
};
inline constexpr std::size_t kModelSlotCount = static_cast<std::size_t>(Slot::Norm1Weight);
inline constexpr std::size_t kLayerSlotCount =
    static_cast<std::size_t>(Slot::PostMlpNormWeight) + 1 - kModelSlotCount;
constexpr bool is_layer_slot(Slot slot) { return slot >= Slot::Norm1Weight; }

// The sizes a tensor dimension can have.
enum class Dim : std::uint8_t {
  None,       // no such dimension (vectors are {d, None})
  Vocab,      // vocab_size
  Hidden,     // hidden_size
  Inner,      // intermediate_size
  Positions,  // max_positions
  QRows,      // n_head * head_dim
  KvRows,     // n_kv_head * head_dim
  QkvRows,    // (n_head + 2 * n_kv_head) * head_dim
  HeadDim,    // head_dim
  Inner2,     // 2 * intermediate_size (a fused gate and up projection)
};
// A dimension's size as two factors: their product may overflow 64 bits in a config that has not
// been checked yet (parameter_count multiplies with overflow checks).
constexpr std::array<std::int64_t, 2> dim_factors(const ModelConfig& c, Dim dim) {
  switch (dim) {
    case Dim::None:
      return {1, 1};
    case Dim::Vocab:
      return {c.vocab_size, 1};
    case Dim::Hidden:
      return {c.hidden_size, 1};
    case Dim::Inner:
      return {c.intermediate_size, 1};
    case Dim::Positions:
      return {c.max_positions, 1};
    case Dim::QRows:
      return {c.n_head, c.head_dim};
    case Dim::KvRows:
      return {c.n_kv_head, c.head_dim};
    case Dim::QkvRows:
      return {c.n_head + 2 * c.n_kv_head, c.head_dim};
    case Dim::HeadDim:
      return {c.head_dim, 1};
    case Dim::Inner2:
      return {2, c.intermediate_size};
  }
  return {1, 1};
}
// The size itself, for configs the readers accepted (their parameter count fits in 64 bits).
constexpr std::int64_t dim_size(const ModelConfig& c, Dim dim) {
  const std::array<std::int64_t, 2> factors = dim_factors(c, dim);
  return factors[0] * factors[1];
}

// Which configs have a row's tensor.
enum class When : std::uint8_t {
  Always,
  UnlessTied,     // tie_word_embeddings is false
  AttentionBias,  // attention_bias
  MlpBias,        // mlp_bias
};
constexpr bool holds(When when, const ModelConfig& c) {
  switch (when) {
    case When::Always:
      return true;
    case When::UnlessTied:
      return !c.tie_word_embeddings;
    case When::AttentionBias:
      return c.attention_bias;
    case When::MlpBias:
      return c.mlp_bias;
  }
  return true;
}

// How a file stores a tensor when not as its slot holds it; the loader converts.
enum class Layout : std::uint8_t {
  AsIs,
  HfConv1D,        // HF files store it [in, out] (GPT-2's Conv1D); GGUF files as the slot
  HeadGroupedQkv,  // rows grouped (head, {q, k, v}, head_dim) in both formats (NeoX)
  GgufRotaryRows,  // GGUF rows of each head reordered by llama.cpp's converter for its interleaved
                   // rotary (Llama Q and K); HF files as the slot
  GgufPlusOne,     // GGUF holds 1 + the HF values: llama.cpp's converter folds Gemma's (1 + w) into
                   // its norm weights; HF files as the slot
};

// One tensor of a checkpoint. Rows naming the same slot are concatenated along the rows in table
// order (q, k, v into QkvWeight; gate, up into GateUpWeight); a file that stores them fused has one
// row. Per-layer names are relative: HF "<hf_layers><l>.<hf>", GGUF "blk.<l>.<gguf>".
struct TensorSpec {
  Slot slot;
  std::string_view hf;       // empty: HF files do not hold it
  std::string_view gguf;     // empty: GGUF files do not hold it
  std::array<Dim, 2> shape;  // as the slot holds it, [out, in]; {d} for a vector
  When when = When::Always;
  Layout layout = Layout::AsIs;
};
inline constexpr std::string_view kGgufLayers = "blk.";

// ---- Blocks ----

enum class Norm : std::uint8_t {
  Layer,       // LayerNorm (weight and bias)
  Rms,         // RMSNorm in float32 (weight)
  RmsOnePlus,  // Gemma's RMSNorm: scaled by (1 + weight), all in float32
};
enum class Mlp : std::uint8_t {
  Plain,  // down(act(up(x)))
  Gated,  // down(act(gate(x)) * up(x)), gate and up in GateUpWeight
};
// The one block forward (layers.cpp, transformer_block) follows the recipe, the config
// (use_parallel_residual, sliding windows, soft-capping) and which optional slots are set:
// pre-norms (absent in OLMo 2), q/k norms, attention, post-norms of the attention and MLP outputs
// (OLMo 2, Gemma), MLP, residuals either sequential or parallel (the MLP reads norm 2 of the input,
// or norm 1's output when the layer has no norm 2, as GPT-J).
struct BlockRecipe {
  Norm norm = Norm::Layer;  // of every norm, the final one included
  Mlp mlp = Mlp::Plain;
};

// ---- The description ----

struct FamilyDescription {
  std::string_view name = {};            // Family::name, recorded by editor files
  std::span<const HfModelType> hf = {};  // the config.json model_types it reads
  std::string_view hf_layers = {};       // prefix of the HF names of layer tensors, up to the index
  // Dropped from HF names that start with it when the checkpoint's token embedding lacks it
  // (GPT-2 is saved with and without "transformer.").
  std::string_view hf_optional_prefix = {};
  std::string_view gguf_architecture = {};  // general.architecture; empty: no GGUF support
  // The `<arch>.*` rows after the common ones (block_count, embedding_length, attention.head_count,
  // attention.head_count_kv, attention.key_length; config.cpp reads those for every family).
  std::span<const GgufKey> gguf = {};
  ModelConfig fixed = {};                    // what no file says: the start of every config it reads
  std::span<const TensorSpec> tensors = {};  // model tensors before the layers, layer tensors, the rest
  BlockRecipe block = {};
};

// Every family (families/families.cpp), in the order error messages list them.
std::span<const FamilyDescription* const> families();
// The description of a family; std::invalid_argument for a name no description has.
const FamilyDescription& family_description(Family family);

}  // namespace remedi::lm
