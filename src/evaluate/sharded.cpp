#include "evaluate/sharded.h"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "evaluate/setup.h"
#include "util/error.h"

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

std::vector<torch::Tensor> sharded_rows(dist::Group* group, std::size_t count, std::int64_t batch_size,
                                        std::size_t columns, const RowWork& work) {
  if (group == nullptr) return work(0, count);
  // Checked here, not only by `work`: a rank without rows would otherwise wait for the failed ones.
  if (batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  const auto [begin, end] = shard_batches(count, batch_size, group->rank(), group->size());
  std::vector<torch::Tensor> mine(columns);  // undefined: a rank without rows
  if (end > begin) {
    mine = work(begin, end);
    if (mine.size() != columns) throw std::logic_error("sharded_rows: work returned the wrong column count");
  }
  return gather_rows(*group, mine);
}

std::vector<std::string> sharded_strings(
    dist::Group* group, std::size_t count, std::int64_t batch_size,
    const std::function<std::vector<std::string>(std::size_t begin, std::size_t end)>& work) {
  if (group == nullptr) return work(0, count);
  if (batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  const auto [begin, end] = shard_batches(count, batch_size, group->rank(), group->size());
  // Length-prefixed, not JSON: a generated text may end inside a multi-byte character.
  std::string mine;
  if (end > begin) {
    for (const std::string& text : work(begin, end)) mine += std::to_string(text.size()) + ":" + text;
  }
  std::vector<std::string> strings;
  for (const std::string& part : group->all_gather(mine)) {
    for (std::size_t at = 0; at < part.size();) {
      const std::size_t colon = part.find(':', at);
      const std::size_t length = std::stoull(part.substr(at, colon - at));
      strings.push_back(part.substr(colon + 1, length));
      at = colon + 1 + length;
    }
  }
  return strings;
}

TargetScores sharded_scores(dist::Group* group, const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            Editor* editor, const std::vector<data::MediationSample>& rows,
                            const ScoringOptions& options) {
  if (group == nullptr) return score_targets(model, tokenizer, editor, rows, options);
  const std::vector<torch::Tensor> all =
      sharded_rows(group, rows.size(), options.batch_size, 4, [&](std::size_t begin, std::size_t end) {
        ScoringOptions local = options;
        local.progress = options.progress && group->root();
        const TargetScores s = score_targets(model, tokenizer, editor, rows_of(rows, begin, end), local);
        return std::vector<torch::Tensor>{s.mediated_logp, s.unmediated_logp, s.top_ids, s.top_logp};
      });
  return {all[0], all[1], all[2], all[3]};
}

std::vector<std::string> sharded_texts(dist::Group* group, const lm::CausalLM& model,
                                       const tok::Tokenizer& tokenizer, Editor* editor,
                                       const std::vector<data::MediationSample>& rows,
                                       const GenerationOptions& options) {
  if (group == nullptr) return generate_texts(model, tokenizer, editor, rows, options);
  const auto step = static_cast<std::uint64_t>(std::max<std::int64_t>(1, options.batch_size));
  return sharded_strings(group, rows.size(), options.batch_size, [&](std::size_t begin, std::size_t end) {
    GenerationOptions local = options;
    local.progress = options.progress && group->root();
    // Batch b of one process samples with seed + b: this rank's first batch is batch begin / size.
    local.seed = options.seed + static_cast<std::uint64_t>(begin) / step;
    return generate_texts(model, tokenizer, editor, rows_of(rows, begin, end), local);
  });
}

EditorInputs sharded_editor_inputs(dist::Group* group, const lm::CausalLM& model,
                                   const tok::Tokenizer& tokenizer,
                                   const std::vector<data::MediationSample>& samples,
                                   const PrecomputeOptions& options) {
  if (group == nullptr) return precompute_editor_inputs(model, tokenizer, samples, options);
  const std::vector<torch::Tensor> all =
      sharded_rows(group, samples.size(), options.batch_size, 4, [&](std::size_t begin, std::size_t end) {
        PrecomputeOptions local = options;
        local.progress = options.progress && group->root();
        const EditorInputs in =
            precompute_editor_inputs(model, tokenizer, rows_of(samples, begin, end), local);
        return std::vector<torch::Tensor>{in.entity_last, in.entity_average, in.attribute_last,
                                          in.attribute_average};
      });
  return {all[0], all[1], all[2], all[3]};
}

EntityProbes sharded_entity_probes(dist::Group* group, const lm::CausalLM& model,
                                   const tok::Tokenizer& tokenizer,
                                   const std::vector<data::MediationSample>& samples,
                                   const std::vector<std::int64_t>& layers, std::int64_t batch_size,
                                   bool progress) {
  if (group == nullptr) return probe_entities(model, tokenizer, samples, layers, batch_size, progress);
  // Columns: the four log-probs, then in_context and in_prompt per layer.
  const std::vector<torch::Tensor> all = sharded_rows(
      group, samples.size(), batch_size, 4 + 2 * layers.size(), [&](std::size_t begin, std::size_t end) {
        const EntityProbes p = probe_entities(model, tokenizer, rows_of(samples, begin, end), layers,
                                              batch_size, progress && group->root());
        std::vector<torch::Tensor> columns{p.in_context_new_logp, p.in_context_true_logp,
                                           p.in_prompt_new_logp, p.in_prompt_true_logp};
        for (const std::int64_t layer : layers) {
          columns.push_back(p.in_context.at(layer));
          columns.push_back(p.in_prompt.at(layer));
        }
        return columns;
      });
  EntityProbes probes;
  probes.in_context_new_logp = all[0];
  probes.in_context_true_logp = all[1];
  probes.in_prompt_new_logp = all[2];
  probes.in_prompt_true_logp = all[3];
  for (std::size_t i = 0; i < layers.size(); ++i) {
    probes.in_context[layers[i]] = all[4 + 2 * i];
    probes.in_prompt[layers[i]] = all[5 + 2 * i];
  }
  return probes;
}

InContextProbe sharded_in_context_probe(dist::Group* group, const lm::CausalLM& model,
                                        const tok::Tokenizer& tokenizer,
                                        const std::vector<data::MediationSample>& samples,
                                        const std::vector<std::int64_t>& layers,
                                        const std::vector<std::int64_t>& token_ids, std::int64_t batch_size,
                                        bool progress) {
  if (group == nullptr)
    return probe_in_context(model, tokenizer, samples, layers, token_ids, batch_size, progress);
  // Columns: the log-probs, then the entity per layer.
  const std::vector<torch::Tensor> all = sharded_rows(
      group, samples.size(), batch_size, 1 + layers.size(), [&](std::size_t begin, std::size_t end) {
        const InContextProbe p = probe_in_context(model, tokenizer, rows_of(samples, begin, end), layers,
                                                  token_ids, batch_size, progress && group->root());
        std::vector<torch::Tensor> columns{p.logp};
        for (const std::int64_t layer : layers) columns.push_back(p.entity.at(layer));
        return columns;
      });
  InContextProbe probe;
  probe.logp = all[0];
  for (std::size_t i = 0; i < layers.size(); ++i) probe.entity[layers[i]] = all[1 + i];
  return probe;
}

nlohmann::json from_root(dist::Group& group, const nlohmann::json& value) {
  const std::vector<std::string> parts = group.all_gather(group.root() ? value.dump() : std::string());
  return nlohmann::json::parse(parts.front());
}

nlohmann::json finished_metrics(dist::Group* group, const std::string& metrics_path) {
  if (group == nullptr) return finished_metrics(metrics_path);
  return from_root(*group, group->root() ? finished_metrics(metrics_path) : nlohmann::json());
}

}  // namespace remedi::evaluate
