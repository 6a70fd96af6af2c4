#include "remedi/bias_generation.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include "data/derived.h"
#include "eval/fluency.h"
#include "lm/model.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "tok/spans.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

int bias_edit_occurrence(bool contextual) { return contextual ? 1 : 0; }

std::vector<data::MediationSample> bias_prompt_rows(const std::vector<data::MediationSample>& samples,
                                                    bool contextual) {
  std::vector<data::MediationSample> rows = samples;
  if (!contextual) return rows;
  data::PromptInContextOptions options;
  options.context_suffix = "\n\n";
  for (data::MediationSample& row : rows) {
    row.prompt = data::prompt_in_context(row, options);
    try {
      tok::find_occurrence(row.prompt, row.entity, bias_edit_occurrence(true));
    } catch (const Error&) {
      throw Error("<data>", "sample " + row.id + " context",
                  "does not mention the entity '" + row.entity +
                      "', so the contextual prompt has no second mention to edit (use --decontextualized)");
    }
  }
  return rows;
}

std::vector<std::string> bias_labels(const std::vector<data::MediationSample>& samples) {
  std::set<std::string> labels;
  for (const data::MediationSample& s : samples) labels.insert(s.target_mediated);
  return {labels.begin(), labels.end()};
}

torch::Tensor label_logprobs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor* editor,
                             const std::vector<data::MediationSample>& rows,
                             const std::vector<std::string>& labels, int occurrence, std::int64_t batch_size,
                             bool progress) {
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> ids;
  for (const std::string& label : labels) ids.push_back(first_token_id(tokenizer, label, "label " + label));
  const torch::Tensor label_ids = torch::tensor(ids, torch::kInt64);
  EditorInputs inputs;
  if (editor != nullptr && !rows.empty()) {
    PrecomputeOptions precompute;
    precompute.layer = editor->config().layer;
    precompute.batch_size = batch_size;
    inputs = precompute_editor_inputs(model, tokenizer, rows, precompute);
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  torch::Tensor logp = torch::empty({n, static_cast<std::int64_t>(labels.size())});
  ProgressBar bar(editor != nullptr ? "edited label scores" : "unedited label scores", n, progress);
  for (std::int64_t begin = 0; begin < n; begin += batch_size) {
    const std::int64_t end = std::min(n, begin + batch_size);
    std::vector<std::string> prompts;
    std::vector<std::string> entities;
    EditBatchOptions options;
    options.entity_occurrence = occurrence;
    options.max_length = model.config().max_positions;
    for (std::int64_t i = begin; i < end; ++i) {
      const data::MediationSample& row = rows[static_cast<std::size_t>(i)];
      prompts.push_back(row.prompt);
      entities.push_back(row.entity);
      options.row_names.push_back("sample " + row.id);
    }
    if (editor != nullptr) options.edit_last_entity_token = editor->config().edit_last_entity_token;
    EditBatch batch = make_edit_batch(tokenizer, prompts, entities, options);
    torch::Tensor directions;  // undefined: the unedited LM
    std::int64_t layer = 0;
    if (editor != nullptr) {
      const EditorConfig& config = editor->config();
      batch.entity_inputs = inputs.entity(config.input_last_entity_token).slice(0, begin, end);
      batch.attribute_inputs = inputs.attribute_average.slice(0, begin, end);
      directions = batch_directions(*editor, batch, model.device());
      layer = config.layer;
    }
    const torch::Tensor last = (batch.lengths - 1).unsqueeze(1);  // (B, 1)
    const torch::Tensor all = edited_logprobs(model, batch, layer, directions, last, ComputeMode::Efficient)
                                  .squeeze(1)
                                  .cpu()
                                  .to(torch::kFloat32);  // (B, V)
    logp.slice(0, begin, end).copy_(all.index_select(1, label_ids));
    bar.advance(end - begin);
  }
  return logp;
}

std::vector<std::size_t> top_labels(const std::vector<double>& scores, std::size_t k) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

std::string source_bio(const data::MediationSample& sample) {
  if (!sample.source.is_object() || !sample.source.contains("bio") || !sample.source["bio"].is_string())
    throw Error("<data>", "sample " + sample.id + " source.bio", "missing (not Bias in Bios?)");
  return sample.source["bio"].get<std::string>();
}

namespace {

eval::TfidfVectorizer fit_bios(const std::vector<data::MediationSample>& pool) {
  std::vector<std::string> bios;
  bios.reserve(pool.size());
  for (const data::MediationSample& s : pool) bios.push_back(source_bio(s));
  try {
    return eval::TfidfVectorizer::fit(bios);
  } catch (const std::invalid_argument&) {
    throw Error("<data>", "source.bio", "no bio of the data set has a word to fit TF-IDF on");
  }
}

}  // namespace

BiasReferences::BiasReferences(const std::vector<data::MediationSample>& pool,
                               const std::vector<data::MediationSample>& samples)
    : vectorizer_(fit_bios(pool)) {
  std::map<std::string, std::vector<eval::SparseVector>> vectors;
  for (const data::MediationSample& s : samples)
    vectors[s.target_mediated].push_back(vectorizer_.transform(source_bio(s)));
  for (const auto& [label, rows] : vectors) mean_of_[label] = eval::mean_vector(rows);
}

double BiasReferences::consistency(const std::string& text, const std::string& label) const {
  const auto found = mean_of_.find(label);
  if (found == mean_of_.end()) return 0.0;
  return eval::cosine_similarity(vectorizer_.transform(text), found->second);
}

std::vector<BiasCorrectionRecord> bias_correction_records(const std::vector<data::MediationSample>& rows,
                                                          const std::vector<std::string>& texts,
                                                          const torch::Tensor& logp,
                                                          const std::vector<std::string>& labels,
                                                          const BiasReferences& references, std::size_t k) {
  if (texts.size() != rows.size() || logp.dim() != 2 ||
      logp.size(0) != static_cast<std::int64_t>(rows.size()) ||
      logp.size(1) != static_cast<std::int64_t>(labels.size())) {
    throw std::invalid_argument(
        "bias_correction_records: one text and one row of label log-probs per row needed");
  }
  const torch::Tensor values = logp.to(torch::kFloat64).contiguous();
  std::vector<BiasCorrectionRecord> records;
  records.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double* row = values[static_cast<std::int64_t>(i)].data_ptr<double>();
    const std::vector<double> scores(row, row + labels.size());
    BiasCorrectionRecord r;
    r.id = rows[i].id;
    r.prompt = rows[i].prompt;
    r.generation = texts[i];
    for (const std::size_t l : top_labels(scores, k)) {
      r.predictions.push_back(labels[l]);
      r.logp_predictions.push_back(scores[l]);
    }
    r.target = rows[i].target_mediated;
    const auto gold = std::find(labels.begin(), labels.end(), r.target);
    if (gold == labels.end())
      throw std::invalid_argument("bias_correction_records: target '" + r.target + "' is not a label");
    r.logp_target = scores[static_cast<std::size_t>(gold - labels.begin())];
    r.fluency = eval::weighted_ngram_entropy(r.generation);
    r.consistency = references.consistency(r.generation, r.target);
    records.push_back(std::move(r));
  }
  return records;
}

BiasCorrectionMetrics bias_correction_metrics(const std::vector<BiasCorrectionRecord>& records,
                                              std::size_t k) {
  if (records.empty()) throw std::invalid_argument("bias_correction_metrics: no records");
  BiasCorrectionMetrics m;
  m.k = k;
  std::vector<std::vector<std::string>> predictions;
  std::vector<std::string> gold;
  std::vector<double> fluency;
  std::vector<double> consistency;
  for (const BiasCorrectionRecord& r : records) {
    predictions.push_back(r.predictions);
    gold.push_back(r.target);
    const auto hit = [&](std::size_t n) {
      const auto end = r.predictions.begin() + static_cast<std::ptrdiff_t>(std::min(n, r.predictions.size()));
      return std::find(r.predictions.begin(), end, r.target) != end ? 1.0 : 0.0;
    };
    m.top1_hits.push_back(hit(1));
    m.topk_hits.push_back(hit(k));
    fluency.push_back(r.fluency);
    consistency.push_back(r.consistency);
  }
  m.top1_accuracy = eval::top_k_accuracy(predictions, gold, 1);
  m.topk_accuracy = eval::top_k_accuracy(predictions, gold, k);
  m.fluency = eval::aggregate(fluency, true);
  m.consistency = eval::aggregate(consistency, true);
  return m;
}

}  // namespace remedi
