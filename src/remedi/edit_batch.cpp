#include "remedi/edit_batch.h"

#include <torch/torch.h>

#include "lm/batching.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi {

std::int64_t EditBatch::prefix_cache_bytes() const {
  std::int64_t bytes = 0;
  for (const auto* tensors : {&cached_prefix_keys_values.keys, &cached_prefix_keys_values.values}) {
    for (const torch::Tensor& t : *tensors) {
      if (t.defined()) bytes += static_cast<std::int64_t>(t.nbytes());
    }
  }
  return bytes;
}

void EditBatch::drop_prefix_cache() {
  keep_prefix_keys_values = false;
  cached_prefix_flat = torch::Tensor();
  cached_prefix_run_tokens = torch::Tensor();
  cached_prefix_keys_values = {};
}

EditBatch make_edit_batch(const tok::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                          const std::vector<std::string>& entities, const EditBatchOptions& options) {
  if (prompts.size() != entities.size()) throw Error("<batch>", "entities", "one entity per prompt needed");
  const lm::EncodedBatch encoded =
      lm::encode_batch(tokenizer, prompts, lm::PaddingSide::Right, options.max_length);
  const auto rows = static_cast<std::int64_t>(prompts.size());
  const auto row_name = [&](std::size_t row) {
    return row < options.row_names.size() ? options.row_names[row] : "prompt " + std::to_string(row);
  };
  for (std::size_t row = 0; row < prompts.size() && options.refuse_truncated; ++row) {
    if (encoded.full_lengths[row] > encoded.lengths[row]) {
      throw Error("<data>", row_name(row) + " prompt",
                  "has " + std::to_string(encoded.full_lengths[row]) +
                      " tokens, more than the model's context of " + std::to_string(encoded.lengths[row]));
    }
  }
  EditBatch batch;
  batch.tokens = encoded.batch;
  batch.lengths = torch::tensor(encoded.lengths, torch::kInt64);
  batch.edit_ranges = torch::empty({rows, 2}, torch::kInt64);
  batch.entity_ends = torch::empty({rows}, torch::kInt64);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto row = static_cast<std::size_t>(r);
    tok::TokenRange range;
    if (options.allow_missing_entity && prompts[row].find(entities[row]) == std::string::npos) {
      batch.edit_ranges[r][0] = 0;
      batch.edit_ranges[r][1] = 0;
      batch.entity_ends[r] = 0;
      continue;
    }
    try {
      range = tok::token_range(encoded.encodings[row].offsets, prompts[row], entities[row],
                               options.entity_occurrence);
    } catch (const Error& e) {
      const std::string name = row_name(row);
      if (encoded.full_lengths[row] > encoded.lengths[row]) {
        throw Error("<data>", name + " prompt",
                    "has " + std::to_string(encoded.full_lengths[row]) +
                        " tokens and its entity is not within the first " +
                        std::to_string(encoded.lengths[row]) + " that the model's context holds");
      }
      throw Error("<data>", name + " prompt", e.reason());
    }
    const tok::TokenRange edited = options.edit_last_entity_token ? tok::last_token(range) : range;
    batch.edit_ranges[r][0] = edited.begin;
    batch.edit_ranges[r][1] = edited.end;
    batch.entity_ends[r] = range.end;
  }
  return batch;
}

EditBatch make_sample_batch(const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples, const EditorInputs& inputs,
                            std::size_t begin, std::size_t end, const EditorConfig& editor,
                            EditBatchOptions options, const std::vector<std::string>* prompts) {
  std::vector<std::string> texts;
  std::vector<std::string> entities;
  std::vector<std::int64_t> mediated;
  std::vector<std::int64_t> unmediated;
  bool all_unmediated = true;
  for (std::size_t i = begin; i < end; ++i) {
    const data::MediationSample& sample = samples[i];
    texts.push_back(prompts != nullptr ? (*prompts)[i - begin] : sample.prompt);
    entities.push_back(sample.entity);
    mediated.push_back(
        first_token_id(tokenizer, sample.target_mediated, "sample " + sample.id + " target_mediated"));
    if (sample.target_unmediated) {
      unmediated.push_back(
          first_token_id(tokenizer, *sample.target_unmediated, "sample " + sample.id + " target_unmediated"));
    } else {
      all_unmediated = false;
    }
  }
  options.edit_last_entity_token = editor.edit_last_entity_token;
  options.row_names.clear();
  for (std::size_t i = begin; i < end; ++i) options.row_names.push_back("sample " + samples[i].id);
  EditBatch batch = make_edit_batch(tokenizer, texts, entities, options);
  batch.mediated_ids = torch::tensor(mediated, torch::kInt64);
  if (all_unmediated) batch.unmediated_ids = torch::tensor(unmediated, torch::kInt64);
  const auto first = static_cast<std::int64_t>(begin);
  const auto last = static_cast<std::int64_t>(end);
  batch.entity_inputs = inputs.entity(editor.input_last_entity_token).slice(0, first, last);
  batch.attribute_inputs = inputs.attribute_average.slice(0, first, last);
  return batch;
}

std::string essence_prompt(const std::string& entity) { return entity + " is a"; }

}  // namespace remedi
