// What the evaluation tests share: the tiny GPT-2 fixture loaded as the evaluations take a model, and
// plain single-text forwards to check their numbers against (no batching, no padding, no editor code).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "tok/spans.h"

namespace remedi::test {

// tiny_model("gpt2") (3 blocks, H = 64, 128 positions; tests/tiny_model.h), loaded once.
const lm::LoadedModel& tiny_gpt2();

// One forward of `text` alone: the block outputs (layer -> (T, H)) and the log-probs of the next token
// after its last one (V).
struct PlainForward {
  std::map<std::int64_t, torch::Tensor> hidden;
  torch::Tensor next_logp;
  tok::Encoding encoding;
};
PlainForward plain_forward(const lm::LoadedModel& model, const std::string& text);

// log p(tok1(word) | text): the first token of " " + word after `text` (METHOD §4.4).
double next_word_logp(const lm::LoadedModel& model, const std::string& text, const std::string& word);

// The mean of block `layer`'s outputs over the tokens of `part` in `text` (its first occurrence): the
// attribute representation the identity editor returns as its direction.
torch::Tensor mean_over(const lm::LoadedModel& model, const std::string& text, const std::string& part,
                        std::int64_t layer);

// Block `layer`'s output at the last token of occurrence `occurrence` of `part` in `text`.
torch::Tensor last_token_state(const lm::LoadedModel& model, const std::string& text, const std::string& part,
                               int occurrence, std::int64_t layer);

// Fills what every tiny run shares: experiment `name` with `folder` as the results root, the identity
// editor at `layers`, every row of `file`, `batch_size` prompts per batch, no progress output.
void tiny_run(evaluate::EvalOptions& options, const std::string& name, const std::string& folder,
              const std::vector<std::int64_t>& layers, const std::string& file, std::int64_t batch_size);

// Confusion counts of a classification recounted from its records; positive class: the LM is wrong.
struct Confusion {
  std::size_t tp = 0, fp = 0, tn = 0, fn = 0;
  void add(bool lm_wrong, bool predicted_wrong);
  // Expects `metrics` to hold these counts and the accuracy, F1 (when defined) and lm_wrong they give.
  void expect_in(const nlohmann::json& metrics) const;
};

// Small data sets whose texts stay far inside the fixture's 128 positions (its tokenizer has few
// merges: nearly one token per character). Each writes a file under `folder` and returns its path.
// CounterFact in the EasyEdit split layout: eight facts about cities and people, true and new object.
std::string write_tiny_counterfact(const std::string& folder);
// Bias in Bios in the LabHC CSV layout: eight two-sentence bios of four occupations.
std::string write_tiny_bios(const std::string& folder);

}  // namespace remedi::test
