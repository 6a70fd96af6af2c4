// Evaluations over several ranks (docs/DISTRIBUTED.md): the per-row work of a benchmark (scoring
// targets, generating texts, probing and precomputing representations) split across the ranks of a
// process group in whole batches, and the per-row results gathered back on every rank in row order.
// Because each rank runs exactly the batches one process would (same rows together, same padding, the
// same seed for a generation batch), the gathered results are bit for bit those of one process; metrics
// computed from them are too. Rank 0 alone then writes the files (evaluate::writes).
//
//   TargetScores scores = sharded_scores(group, model, tok, editor, rows, scoring);  // every row
//   std::vector<torch::Tensor> logp = sharded_rows(group, rows.size(), batch_size, 1,
//       [&](std::size_t begin, std::size_t end) { return std::vector{f(rows_of(rows, begin, end))}; });
//   if (writes(group)) write_json(...);
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "remedi/classification.h"
#include "remedi/distributed.h"
#include "remedi/generation.h"
#include "remedi/precompute.h"
#include "remedi/scoring.h"

namespace remedi::evaluate {

// Whether this process writes the results: rank 0, or the only process (group null).
inline bool writes(const dist::Group* group) { return dist::root(group); }

// Rows [begin, end) of `count` that rank `rank` of `ranks` computes: whole batches of `batch_size`,
// contiguous, in order (the last rank's part may end with a short batch; a rank may have none).
std::pair<std::size_t, std::size_t> shard_batches(std::size_t count, std::int64_t batch_size, int rank,
                                                  int ranks);

// Rows [begin, end) of `rows`.
template <class T>
std::vector<T> rows_of(const std::vector<T>& rows, std::size_t begin, std::size_t end) {
  return {rows.begin() + static_cast<std::ptrdiff_t>(begin), rows.begin() + static_cast<std::ptrdiff_t>(end)};
}

// The per-row tensors of rows [begin, end): `columns` tensors whose dim 0 is those rows (a column may
// be undefined on every rank, as an absent result).
using RowWork = std::function<std::vector<torch::Tensor>(std::size_t begin, std::size_t end)>;

// `work` over rows [0, count) in whole batches of `batch_size`: each rank runs it once on its
// shard_batches (not at all when it has none) and the `columns` results are gathered in row order on
// every rank. Group null: work(0, count) itself. Collective.
std::vector<torch::Tensor> sharded_rows(dist::Group* group, std::size_t count, std::int64_t batch_size,
                                        std::size_t columns, const RowWork& work);

// As sharded_rows for per-row strings: work(begin, end) returns end - begin strings. Collective.
std::vector<std::string> sharded_strings(
    dist::Group* group, std::size_t count, std::int64_t batch_size,
    const std::function<std::vector<std::string>(std::size_t begin, std::size_t end)>& work);

// score_targets (remedi/scoring.h) of every row, each rank scoring its shard_batches. Group null:
// score_targets itself. Collective.
TargetScores sharded_scores(dist::Group* group, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            Editor* editor, const std::vector<data::MediationSample>& rows,
                            const ScoringOptions& options);

// generate_texts (remedi/generation.h) of every row, each rank generating its shard_batches with the
// seeds those batches have in one process. Group null: generate_texts itself. Collective.
std::vector<std::string> sharded_texts(dist::Group* group, const lm::CausalLM& model,
                                       const tok::Tokenizer& tokenizer, Editor* editor,
                                       const std::vector<data::MediationSample>& rows,
                                       const GenerationOptions& options);

// precompute_editor_inputs (remedi/precompute.h) of every sample, each rank precomputing its
// shard_batches of options.batch_size. Group null: precompute_editor_inputs itself. Collective.
EditorInputs sharded_editor_inputs(dist::Group* group, const lm::CausalLM& model,
                                   const tok::Tokenizer& tokenizer,
                                   const std::vector<data::MediationSample>& samples,
                                   const PrecomputeOptions& options);

// probe_entities (remedi/classification.h) of every sample, sharded as above. Collective.
EntityProbes sharded_entity_probes(dist::Group* group, const lm::CausalLM& model,
                                   const tok::Tokenizer& tokenizer,
                                   const std::vector<data::MediationSample>& samples,
                                   const std::vector<std::int64_t>& layers, std::int64_t batch_size,
                                   bool progress);

// probe_in_context (remedi/classification.h) of every sample, sharded as above. Collective.
InContextProbe sharded_in_context_probe(dist::Group* group, const lm::CausalLM& model,
                                        const tok::Tokenizer& tokenizer,
                                        const std::vector<data::MediationSample>& samples,
                                        const std::vector<std::int64_t>& layers,
                                        const std::vector<std::int64_t>& token_ids, std::int64_t batch_size,
                                        bool progress);

// finished_metrics (evaluate/setup.h) as rank 0 sees it, on every rank: whether a result is skipped
// is rank 0's decision (it alone writes, and the ranks must run the same collectives). Group null:
// finished_metrics itself. Collective.
nlohmann::json finished_metrics(dist::Group* group, const std::string& metrics_path);

// Rank 0's `value` on every rank. Collective.
nlohmann::json from_root(dist::Group& group, const nlohmann::json& value);

// Each rank's per-row tensors (dim 0 = its rows; none for a rank without rows) concatenated in rank
// order on every rank. Collective.
std::vector<torch::Tensor> gather_rows(dist::Group& group, const std::vector<torch::Tensor>& mine);

}  // namespace remedi::evaluate
