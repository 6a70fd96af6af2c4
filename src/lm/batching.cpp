#include "lm/batching.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>

namespace remedi::lm {

std::int64_t EncodedBatch::column(std::size_t row, std::int64_t index) const {
  if (side == PaddingSide::Right) return index;
  return batch.input_ids.size(1) - lengths[row] + index;
}

EncodedBatch encode_batch(const tok::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                          PaddingSide side, std::int64_t max_length) {
  EncodedBatch out;
  out.side = side;
  std::int64_t width = 0;
  // HF truncation keeps the added special tokens: the text's tokens are cut before the suffix.
  const std::size_t suffix = tokenizer.special_suffix().size();
  for (const std::string& text : texts) {
    tok::Encoding encoding = tokenizer.encode(text, /*add_special_tokens=*/true);
    out.full_lengths.push_back(static_cast<std::int64_t>(encoding.ids.size()));
    if (max_length > 0 && static_cast<std::int64_t>(encoding.ids.size()) > max_length) {
      const auto kept = static_cast<std::size_t>(max_length);
      const std::size_t tail = std::min(suffix, kept);  // the suffix (its end when it alone is too long)
      const std::size_t cut = kept - tail;              // where it moves to
      std::move(encoding.ids.end() - static_cast<std::ptrdiff_t>(tail), encoding.ids.end(),
                encoding.ids.begin() + static_cast<std::ptrdiff_t>(cut));
      std::move(encoding.offsets.end() - static_cast<std::ptrdiff_t>(tail), encoding.offsets.end(),
                encoding.offsets.begin() + static_cast<std::ptrdiff_t>(cut));
      encoding.ids.resize(kept);
      encoding.offsets.resize(kept);
    }
    width = std::max(width, static_cast<std::int64_t>(encoding.ids.size()));
    out.lengths.push_back(static_cast<std::int64_t>(encoding.ids.size()));
    out.encodings.push_back(std::move(encoding));
  }
  const auto rows = static_cast<std::int64_t>(texts.size());
  torch::Tensor ids =
      torch::full({rows, width}, tokenizer.pad_id() >= 0 ? tokenizer.pad_id() : 0, torch::kInt64);
  torch::Tensor mask = torch::zeros({rows, width}, torch::kInt64);
  auto ids_access = ids.accessor<std::int64_t, 2>();
  auto mask_access = mask.accessor<std::int64_t, 2>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const tok::Encoding& encoding = out.encodings[static_cast<std::size_t>(r)];
    const std::int64_t shift =
        side == PaddingSide::Left ? width - out.lengths[static_cast<std::size_t>(r)] : 0;
    for (std::size_t t = 0; t < encoding.ids.size(); ++t) {
      ids_access[r][shift + static_cast<std::int64_t>(t)] = encoding.ids[t];
      mask_access[r][shift + static_cast<std::int64_t>(t)] = 1;
    }
  }
  out.batch = {ids, mask};
  return out;
}

}  // namespace remedi::lm
