// Tokenize a list of strings into one padded batch, keeping each row's offsets (METHOD §2.2, §4.5).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "lm/model.h"
#include "tok/tokenizer.h"

namespace remedi::lm {

enum class PaddingSide { Right, Left };

struct EncodedBatch {
  Batch batch;                             // (B, T) ids and mask, padded with the tokenizer's pad id
  std::vector<tok::Encoding> encodings;    // per row, unpadded ids and code-point offsets
  std::vector<std::int64_t> lengths;       // real tokens per row
  std::vector<std::int64_t> full_lengths;  // tokens per row before truncation to max_length
  PaddingSide side = PaddingSide::Right;

  // Column of row `row`'s token `index` (0-based among its real tokens) in the padded tensor.
  std::int64_t column(std::size_t row, std::int64_t index) const;
};

// Each text as a model's input: tokenizer.encode(text, true), so with the BOS/EOS the tokenizer adds
// (offsets {0, 0}). Truncates each row to `max_length` tokens when max_length > 0, keeping the first
// ones and, as HF does, the added suffix (special_suffix(), when max_length leaves room for it).
EncodedBatch encode_batch(const tok::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                          PaddingSide side, std::int64_t max_length = -1);

}  // namespace remedi::lm
