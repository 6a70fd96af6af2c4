// Open-ended generation from each sample's prompt, edited or not (METHOD §8.1 evaluate pass, §8.4):
// left-padded batches, the editor's direction added at the entity's mention in the prompt pass,
// then KV-cached top-k sampling; texts decoded with the prompt (or, if asked, the new tokens alone),
// special tokens skipped.
#pragma once

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

class Editor;

struct GenerationOptions {
  std::int64_t batch_size = 16;
  // Total length including the left-padded prompt, as the original counts it (METHOD Q12): the new
  // tokens of a batch are max_length minus its widest prompt.
  std::int64_t max_length = 100;
  // > 0: every batch gets this many new tokens whatever its prompts' width, instead of max_length's
  // budget (the per-row option METHOD Q12 suggests).
  std::int64_t max_new_tokens = 0;
  std::int64_t top_k = 5;             // 0: greedy
  std::uint64_t seed = 123456;        // batch b samples with seed + b
  bool allow_missing_entity = false;  // a prompt without the entity is generated unedited
  // Which mention of the entity in the prompt gets the edit (METHOD §4.2): 0, the first, except for
  // the Bias-in-Bios contextual prompts, whose own mention follows the bio's (1).
  int entity_occurrence = 0;
  // Decode only the generated tokens, not the prompt (Bias-in-Bios error correction, METHOD §8.9).
  bool new_tokens_only = false;
  // A batch whose prompts already reach max_length gets one new token, as HF generate gives then
  // (METHOD Q12), instead of an error.
  bool overlong_one_token = false;
  bool progress = false;
  std::string label = "generate";  // progress bar title
};

// One text per row: rows[i].prompt continued. `editor` null: the unedited LM; otherwise its
// directions (from the rows' editor inputs at its layer) are added at the entity's last token (or
// every entity token, as the editor's config says) of mention `entity_occurrence` in the prompt.
// Throws remedi::Error naming the row when a prompt lacks that mention (a prompt without the entity
// is allowed with allow_missing_entity) or reaches max_length (unless overlong_one_token or
// max_new_tokens).
std::vector<std::string> generate_texts(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                        Editor* editor, const std::vector<data::MediationSample>& rows,
                                        const GenerationOptions& options);

}  // namespace remedi
