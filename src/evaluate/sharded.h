// Evaluations over several ranks (docs/DISTRIBUTED.md): the per-row work of a benchmark (scoring
// targets, generating texts) split across the ranks of a process group in whole batches, and the
// per-row results gathered back on every rank in row order. Because each rank runs exactly the
// batches one process would (same rows together, same padding, the same seed for a generation batch),
// the gathered results are bit for bit those of one process; metrics computed from them are too.
// Rank 0 alone then writes the files (evaluate::writes).
//
//   TargetScores scores = sharded_scores(group, model, tok, editor, rows, scoring);  // every row
//   if (writes(group)) write_json(...);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "remedi/distributed.h"
#include "remedi/generation.h"
#include "remedi/scoring.h"

namespace remedi::evaluate {

// Whether this process writes the results: rank 0, or the only process (group null).
inline bool writes(const dist::Group* group) { return dist::root(group); }

// Rows [begin, end) of `count` that rank `rank` of `ranks` computes: whole batches of `batch_size`,
// contiguous, in order (the last rank's part may end with a short batch; a rank may have none).
std::pair<std::size_t, std::size_t> shard_batches(std::size_t count, std::int64_t batch_size, int rank,
                                                  int ranks);

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

// Each rank's per-row tensors (dim 0 = its rows; none for a rank without rows) concatenated in rank
// order on every rank. Collective.
std::vector<torch::Tensor> gather_rows(dist::Group& group, const std::vector<torch::Tensor>& mine);

}  // namespace remedi::evaluate
