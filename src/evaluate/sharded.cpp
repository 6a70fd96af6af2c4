#include "evaluate/sharded.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>

namespace remedi::evaluate {

std::pair<std::size_t, std::size_t> shard_batches(std::size_t count, std::int64_t batch_size, int rank,
                                                  int ranks) {
  const auto step = static_cast<std::size_t>(std::max<std::int64_t>(1, batch_size));
  const std::size_t batches = (count + step - 1) / step;
  const auto [first, last] = dist::shard(batches, rank, ranks);
  return {std::min(count, first * step), std::min(count, last * step)};
}

std::vector<torch::Tensor> gather_rows(dist::Group& group, const std::vector<torch::Tensor>& mine) {
  // Each rank's tensors travel pickled (shapes and dtypes with them); an undefined tensor (say, no
  // unmediated targets) stays undefined.
  c10::impl::GenericList values(c10::AnyType::get());
  for (const torch::Tensor& t : mine)
    values.push_back(t.defined() ? torch::IValue(t.cpu()) : torch::IValue());
  const std::vector<char> bytes = torch::pickle_save(torch::IValue(values));
  const std::vector<std::string> parts = group.all_gather(std::string(bytes.begin(), bytes.end()));
  std::vector<std::vector<torch::Tensor>> columns(mine.size());
  for (const std::string& part : parts) {
    const torch::IValue list = torch::pickle_load(std::vector<char>(part.begin(), part.end()));
    const c10::List<torch::IValue> items = list.toList();
    if (items.empty()) continue;  // a rank without rows
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const torch::IValue item = items.get(i);
      if (item.isTensor()) columns[i].push_back(item.toTensor());
    }
  }
  std::vector<torch::Tensor> gathered;
  for (const std::vector<torch::Tensor>& column : columns) {
    gathered.push_back(column.empty() ? torch::Tensor() : torch::cat(column));
  }
  return gathered;
}

namespace {

std::vector<data::MediationSample> slice(const std::vector<data::MediationSample>& rows,
                                         std::pair<std::size_t, std::size_t> range) {
  return {rows.begin() + static_cast<std::ptrdiff_t>(range.first),
          rows.begin() + static_cast<std::ptrdiff_t>(range.second)};
}

}  // namespace

TargetScores sharded_scores(dist::Group* group, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            Editor* editor, const std::vector<data::MediationSample>& rows,
                            const ScoringOptions& options) {
  if (group == nullptr) return score_targets(model, tokenizer, editor, rows, options);
  const auto range = shard_batches(rows.size(), options.batch_size, group->rank(), group->size());
  std::vector<torch::Tensor> mine;
  if (range.second > range.first) {
    ScoringOptions local = options;
    local.progress = options.progress && group->root();
    const TargetScores s = score_targets(model, tokenizer, editor, slice(rows, range), local);
    mine = {s.mediated_logp, s.unmediated_logp, s.top_ids, s.top_logp};
  }
  const std::vector<torch::Tensor> all =
      gather_rows(*group, mine.empty() ? std::vector<torch::Tensor>(4) : mine);
  return {all[0], all[1], all[2], all[3]};
}

std::vector<std::string> sharded_texts(dist::Group* group, const lm::CausalLM& model,
                                       const tok::Tokenizer& tokenizer, Editor* editor,
                                       const std::vector<data::MediationSample>& rows,
                                       const GenerationOptions& options) {
  if (group == nullptr) return generate_texts(model, tokenizer, editor, rows, options);
  const auto range = shard_batches(rows.size(), options.batch_size, group->rank(), group->size());
  // Length-prefixed, not JSON: a generated text may end inside a multi-byte character.
  std::string mine;
  if (range.second > range.first) {
    GenerationOptions local = options;
    local.progress = options.progress && group->root();
    // Batch b of one process samples with seed + b: this rank's first batch is batch begin / size.
    local.seed = options.seed + static_cast<std::uint64_t>(range.first) /
                                    static_cast<std::uint64_t>(std::max<std::int64_t>(1, options.batch_size));
    for (const std::string& text : generate_texts(model, tokenizer, editor, slice(rows, range), local)) {
      mine += std::to_string(text.size()) + ":" + text;
    }
  }
  std::vector<std::string> texts;
  for (const std::string& part : group->all_gather(mine)) {
    for (std::size_t at = 0; at < part.size();) {
      const std::size_t colon = part.find(':', at);
      const std::size_t length = std::stoull(part.substr(at, colon - at));
      texts.push_back(part.substr(colon + 1, length));
      at = colon + 1 + length;
    }
  }
  return texts;
}

}  // namespace remedi::evaluate
