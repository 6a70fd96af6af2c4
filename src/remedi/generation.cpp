#include "remedi/generation.h"

#include <torch/torch.h>

#include "lm/batching.h"
#include "lm/generate.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

std::vector<std::string> generate_texts(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                        Editor* editor, const std::vector<data::MediationSample>& rows,
                                        const GenerationOptions& options) {
  torch::NoGradGuard no_grad;
  EditorInputs inputs;
  if (editor != nullptr && !rows.empty()) {
    PrecomputeOptions precompute;
    precompute.layer = editor->config().layer;
    precompute.batch_size = options.batch_size;
    inputs = precompute_editor_inputs(model, tokenizer, rows, precompute);
  }
  std::vector<std::string> texts;
  texts.reserve(rows.size());
  ProgressBar progress(options.label, static_cast<std::int64_t>(rows.size()), options.progress);
  const auto step = static_cast<std::size_t>(options.batch_size);
  for (std::size_t begin = 0; begin < rows.size(); begin += step) {
    const std::size_t end = std::min(rows.size(), begin + step);
    std::vector<std::string> prompts;
    for (std::size_t i = begin; i < end; ++i) prompts.push_back(rows[i].prompt);
    const lm::EncodedBatch batch = lm::encode_batch(tokenizer, prompts, lm::PaddingSide::Left);
    const std::int64_t width = batch.batch.input_ids.size(1);
    // Prompts are not cut (the original's generate does not truncate): one longer than the model's
    // context is refused here, naming the row, rather than by the model's forward pass.
    for (std::size_t row = 0; row < prompts.size(); ++row) {
      if (batch.lengths[row] > model.config().max_positions) {
        throw Error("<data>", "sample " + rows[begin + row].id + " prompt",
                    "has " + std::to_string(batch.lengths[row]) +
                        " tokens, more than the model's context of " +
                        std::to_string(model.config().max_positions));
      }
    }
    const bool by_new_tokens = options.max_new_tokens > 0;
    const bool overlong = !by_new_tokens && width >= options.max_length;
    if (overlong && !options.overlong_one_token) {
      throw Error("<data>", "sample " + rows[begin].id + " prompt",
                  "a batch's prompts are " + std::to_string(width) + " tokens, not below --max-length " +
                      std::to_string(options.max_length));
    }
    lm::GenerateOptions generate;
    generate.max_length = overlong || by_new_tokens ? -1 : options.max_length;
    generate.max_new_tokens = by_new_tokens ? options.max_new_tokens : 1;  // used when max_length is -1
    generate.top_k = options.top_k;
    generate.seed = options.seed + begin / step;
    generate.eos_id = tokenizer.eos_id();
    generate.pad_id = tokenizer.pad_id();
    if (editor != nullptr) {
      const auto first = static_cast<std::int64_t>(begin);
      const auto last = static_cast<std::int64_t>(end);
      const torch::Tensor entity =
          inputs.entity(editor->config().input_last_entity_token).slice(0, first, last);
      const torch::Tensor attribute = inputs.attribute_average.slice(0, first, last);
      // Columns [i, j) of each row's entity mention (occurrence entity_occurrence) in the left-padded
      // batch.
      torch::Tensor ranges = torch::zeros({last - first, 2}, torch::kInt64);
      for (std::size_t i = begin; i < end; ++i) {
        const std::size_t row = i - begin;
        const std::string& prompt = rows[i].prompt;
        if (prompt.find(rows[i].entity) == std::string::npos) {
          if (options.allow_missing_entity) continue;
          throw Error("<data>", "sample " + rows[i].id + " prompt",
                      "does not contain the entity '" + rows[i].entity + "'");
        }
        tok::TokenRange range;
        try {
          range = tok::token_range(batch.encodings[row].offsets, prompt, rows[i].entity,
                                   options.entity_occurrence);
        } catch (const Error& e) {
          throw Error("<data>", "sample " + rows[i].id + " prompt", e.reason());
        }
        if (editor->config().edit_last_entity_token) range = tok::last_token(range);
        ranges[static_cast<std::int64_t>(row)][0] = batch.column(row, range.begin);
        ranges[static_cast<std::int64_t>(row)][1] = batch.column(row, range.end);
      }
      const torch::Tensor directions =
          editor->forward(entity.to(model.device()), attribute.to(model.device()));
      generate.interventions.push_back({editor->config().layer, directions, ranges.to(model.device())});
    }
    const torch::Tensor tokens = lm::generate(model, batch.batch, generate).tokens.cpu();
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t row = i - begin;
      std::vector<std::int64_t> ids;
      if (!options.new_tokens_only) ids = batch.encodings[row].ids;
      const torch::Tensor generated = tokens[static_cast<std::int64_t>(row)].contiguous();
      ids.insert(ids.end(), generated.data_ptr<std::int64_t>(),
                 generated.data_ptr<std::int64_t>() + generated.numel());
      texts.push_back(tokenizer.decode(ids, /*skip_special_tokens=*/true));
    }
    progress.advance(static_cast<std::int64_t>(end - begin));
  }
  return texts;
}

}  // namespace remedi
