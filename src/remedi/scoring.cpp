#include "remedi/scoring.h"

#include <torch/torch.h>

#include "lm/model.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "util/progress.h"

namespace remedi {

TargetScores score_targets(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor* editor,
                           const std::vector<data::MediationSample>& samples, const ScoringOptions& options) {
  torch::NoGradGuard no_grad;
  const auto rows = static_cast<std::int64_t>(samples.size());
  EditorConfig config;
  config.hidden_size = model.config().hidden_size;
  EditorInputs inputs;
  if (editor != nullptr) {
    config = editor->config();
    PrecomputeOptions precompute;
    precompute.layer = config.layer;
    precompute.batch_size = options.batch_size;
    inputs = precompute_editor_inputs(model, tokenizer, samples, precompute);
  } else {
    const torch::Tensor none = torch::zeros({rows, config.hidden_size});
    inputs = {none, none, none, none};
  }
  TargetScores scores;
  scores.mediated_logp = torch::empty({rows});
  bool all_unmediated = true;
  for (const data::MediationSample& sample : samples)
    all_unmediated = all_unmediated && sample.target_unmediated;
  if (all_unmediated) scores.unmediated_logp = torch::empty({rows});
  scores.top_ids = torch::empty({rows, options.top_k}, torch::kInt64);
  scores.top_logp = torch::empty({rows, options.top_k});
  ProgressBar progress(editor != nullptr ? "edited scores" : "unedited scores", rows, options.progress);
  EditBatchOptions batch_options;
  batch_options.max_length = model.config().max_positions;
  batch_options.allow_missing_entity = options.allow_missing_entity;
  const auto step = static_cast<std::size_t>(options.batch_size);
  for (std::size_t begin = 0; begin < samples.size(); begin += step) {
    const std::size_t end = std::min(samples.size(), begin + step);
    EditBatch batch = make_sample_batch(tokenizer, samples, inputs, begin, end, config, batch_options);
    const torch::Tensor at = (batch.lengths - 1).unsqueeze(1);  // (B, 1)
    const torch::Tensor directions =
        editor != nullptr ? batch_directions(*editor, batch, model.device()) : torch::Tensor();
    // Without an editor the same two-part forward runs with no edit.
    const torch::Tensor logp =
        edited_logprobs(model, batch, config.layer, directions, at, ComputeMode::Efficient)
            .squeeze(1)
            .cpu();  // (B, V)
    const auto first = static_cast<std::int64_t>(begin);
    const auto last = static_cast<std::int64_t>(end);
    scores.mediated_logp.slice(0, first, last)
        .copy_(logp.gather(1, batch.mediated_ids.unsqueeze(1)).squeeze(1));
    if (all_unmediated) {
      scores.unmediated_logp.slice(0, first, last)
          .copy_(logp.gather(1, batch.unmediated_ids.unsqueeze(1)).squeeze(1));
    }
    const auto top = logp.topk(options.top_k, -1);
    scores.top_logp.slice(0, first, last).copy_(std::get<0>(top));
    scores.top_ids.slice(0, first, last).copy_(std::get<1>(top));
    progress.advance(static_cast<std::int64_t>(end - begin));
  }
  return scores;
}

}  // namespace remedi
