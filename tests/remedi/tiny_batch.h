// A hand-made batch for the tiny random GPT-2 fixture (hidden 64, vocab 300): three right-padded
// prompts with entity mentions that cover the edge cases of the loss (a KL span of several tokens,
// a one-token entity at the start, and an entity that ends the prompt, whose KL span is empty).
#pragma once

#include <torch/torch.h>

#include "remedi/edit_batch.h"

namespace remedi::test {

inline EditBatch tiny_batch(std::int64_t hidden, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  EditBatch batch;
  const torch::Tensor ids = torch::randint(0, 299, {3, 6}, torch::kInt64);
  const torch::Tensor mask =
      torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0}, torch::kInt64).view({3, 6});
  batch.tokens = {ids * mask + 299 * (1 - mask), mask};  // pads hold the pad id 299
  batch.lengths = torch::tensor({6, 4, 5}, torch::kInt64);
  // entity mentions [1, 3), [0, 1), [2, 5); the edit goes to each mention's last token
  batch.entity_ends = torch::tensor({3, 1, 5}, torch::kInt64);
  batch.edit_ranges = torch::tensor({2, 3, 0, 1, 4, 5}, torch::kInt64).view({3, 2});
  batch.mediated_ids = torch::tensor({5, 17, 42}, torch::kInt64);
  batch.unmediated_ids = torch::tensor({7, 8, 9}, torch::kInt64);
  batch.entity_inputs = torch::randn({3, hidden});
  batch.attribute_inputs = torch::randn({3, hidden});
  return batch;
}

}  // namespace remedi::test
