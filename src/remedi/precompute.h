// Precomputed editor inputs (METHOD §5.2, §5.4): hidden states of the entity string alone and of the
// context at the edit layer, computing only blocks 0..layer. Optionally cached on disk, keyed by the
// model fingerprint, the layer and the samples' strings.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

// One row per sample; float32 on the CPU (METHOD §5.1: stored in fp32, cast when used).
struct EditorInputs {
  torch::Tensor entity_last;        // (N, H) entity string alone, its last token
  torch::Tensor entity_average;     // (N, H) entity string alone, mean over its tokens
  torch::Tensor attribute_last;     // (N, H) context, the attribute's last token
  torch::Tensor attribute_average;  // (N, H) context, mean over the attribute's tokens (the editor's input)

  std::int64_t size() const { return attribute_average.defined() ? attribute_average.size(0) : 0; }
  const torch::Tensor& entity(bool last_token) const { return last_token ? entity_last : entity_average; }
};

struct PrecomputeOptions {
  std::int64_t layer = 0;
  std::int64_t batch_size = 16;
  std::string cache_dir;  // empty: no disk cache
  bool progress = false;  // progress bar on stderr
};

EditorInputs precompute_editor_inputs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                      const std::vector<data::MediationSample>& samples,
                                      const PrecomputeOptions& options);

// METHOD §5.4, for the random editor: per sample, mean hidden state of the entity's second mention in
// prompt-in-context minus that of its first mention, at `options.layer`. (N, H) float32.
torch::Tensor entity_deltas(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples,
                            const PrecomputeOptions& options);

// tok1(w) of METHOD §4.4: the first id of the tokenization of " " + word. Throws remedi::Error naming
// `field` when the word tokenizes to nothing.
std::int64_t first_token_id(const tok::Tokenizer& tokenizer, const std::string& word,
                            const std::string& field);

}  // namespace remedi
