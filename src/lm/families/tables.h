// Pieces that several families' tables share, and a way to assemble a table from pieces; for the
// families' files only.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "lm/config_reader.h"
#include "lm/family.h"

namespace remedi::lm {

// The rows of `parts`, in order, as one table.
template <class Row, std::size_t... kSizes>
constexpr auto join(const std::array<Row, kSizes>&... parts) {
  std::array<Row, (kSizes + ...)> rows{};
  std::size_t i = 0;
  ((std::copy(parts.begin(), parts.end(), rows.begin() + static_cast<std::ptrdiff_t>(i)), i += parts.size()),
   ...);
  return rows;
}

// The `<arch>.*` rows of Llama and of the families built like it (RMSNorm, rotary, an MLP width
// of its own).
inline constexpr std::array kLlamaLikeGgufKeys{
    GgufKey::size("feed_forward_length", &ModelConfig::intermediate_size),
    GgufKey::size("context_length", &ModelConfig::max_positions),
    GgufKey::number("attention.layer_norm_rms_epsilon", &ModelConfig::norm_eps),
    GgufKey::step(rotary_from_gguf),
};

// Their first row, the token embedding, and their last rows: the final norm and the head (absent
// when tied).
inline constexpr std::array kLlamaLikeEmbedding{
    TensorSpec{
        Slot::TokenEmbedding, "model.embed_tokens.weight", "token_embd.weight", {Dim::Vocab, Dim::Hidden}},
};
inline constexpr std::array kLlamaLikeFinalRows{
    TensorSpec{Slot::FinalNormWeight, "model.norm.weight", "output_norm.weight", {Dim::Hidden}},
    TensorSpec{
        Slot::LmHeadWeight, "lm_head.weight", "output.weight", {Dim::Vocab, Dim::Hidden}, When::UnlessTied},
};

}  // namespace remedi::lm
