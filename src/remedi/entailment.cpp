#include "remedi/entailment.h"

#include <torch/torch.h>

#include <charconv>
#include <cmath>
#include <map>
#include <stdexcept>

#include "data/derived.h"
#include "lm/model.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

namespace {

// source[field] as a string; throws naming the sample and the field.
std::string string_field(const data::Json& feature, const char* field, const std::string& file,
                         const std::string& where) {
  if (!feature.contains(field) || !feature[field].is_string())
    throw Error(file, where + "." + field, "missing or not a string (not McRae data?)");
  return feature[field].get<std::string>();
}

const char* list_name(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::Co:
      return "all_co_features";
    case FeatureKind::Orig:
      return "original_features";
    case FeatureKind::Unrel:
      break;
  }
  return "unrelated_features";
}

// Mean of the defined delta_prob values of `features`; none when there is none.
std::optional<double> mean_delta(const std::vector<ScoredFeature>& features) {
  double sum = 0.0;
  std::size_t count = 0;
  for (const ScoredFeature& f : features) {
    if (!f.delta_prob) continue;
    sum += *f.delta_prob;
    ++count;
  }
  if (count == 0) return std::nullopt;
  return sum / static_cast<double>(count);
}

// Pearson r of logp_pre (or logp_post) with logp_ref over `features`; none when undefined.
std::optional<double> correlation(const std::vector<ScoredFeature>& features, bool post) {
  std::vector<double> x;
  std::vector<double> y;
  for (const ScoredFeature& f : features) {
    if (post && !f.logp_post) return std::nullopt;
    x.push_back(post ? *f.logp_post : f.logp_pre);
    y.push_back(*f.logp_ref);
  }
  return eval::pearson(x, y);
}

// summarize_correlations, keeping the defined values (for confidence intervals).
eval::CorrelationSummary summarize(const std::vector<SampleEntailment>& samples,
                                   std::optional<double> SampleEntailment::*field) {
  std::vector<std::optional<double>> values;
  std::vector<double> defined;
  for (const SampleEntailment& s : samples) {
    values.push_back(s.*field);
    if (s.*field) defined.push_back(*(s.*field));
  }
  eval::CorrelationSummary summary = eval::summarize_correlations(values);
  if (summary.aggregate) summary.aggregate->values = defined;
  return summary;
}

}  // namespace

const char* feature_kind_name(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::Co:
      return "co";
    case FeatureKind::Orig:
      return "orig";
    case FeatureKind::Unrel:
      break;
  }
  return "unrel";
}

std::vector<FeatureRow> flatten_features(const std::vector<data::MediationSample>& samples, bool prefix,
                                         const std::string& file) {
  std::vector<FeatureRow> rows;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const data::MediationSample& sample = samples[i];
    for (const FeatureKind kind : {FeatureKind::Co, FeatureKind::Orig, FeatureKind::Unrel}) {
      const std::string list = std::string("sample ") + sample.id + " source." + list_name(kind);
      if (!sample.source.is_object() || !sample.source.contains(list_name(kind)) ||
          !sample.source[list_name(kind)].is_array()) {
        throw Error(file, list, "missing or not a list (not McRae data?)");
      }
      const data::Json& features = sample.source[list_name(kind)];
      for (std::size_t k = 0; k < features.size(); ++k) {
        const std::string where = list + "[" + std::to_string(k) + "]";
        FeatureRow row;
        row.sample = i;
        row.kind = kind;
        row.entity = sample.entity;
        row.feature = string_field(features[k], "feature_fluent", file, where);
        row.prompt = string_field(features[k], "prompt", file, where);
        row.target = string_field(features[k], "target", file, where);
        if (row.target.empty()) throw Error(file, where + ".target", "is empty");
        if (kind != FeatureKind::Unrel) {
          row.prob = string_field(features[k], kind == FeatureKind::Co ? "co_prob" : "prob", file, where);
          if (prefix) row.prompt = data::prompt_in_context(sample.entity, row.prompt, sample.context);
        }
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::string feature_sequence(const FeatureRow& row) { return row.prompt + " " + row.target; }

tok::CharSpan target_span(const std::string& sequence, const std::string& target, bool first_occurrence) {
  if (first_occurrence) return tok::find_occurrence(sequence, target, 0);
  if (target.empty() || !sequence.ends_with(target)) {
    throw Error("<string>", "target", "\"" + target + "\" does not end \"" + sequence + "\"");
  }
  const std::int64_t end = tok::utf8_length(sequence);
  return {end - tok::utf8_length(target), end};
}

tok::TokenRange target_token_range(const std::vector<tok::Offset>& offsets, const std::string& sequence,
                                   const std::string& target, bool first_occurrence,
                                   const std::string& where) {
  tok::TokenRange range;
  try {
    range = tok::token_range_for_span(offsets, target_span(sequence, target, first_occurrence));
  } catch (const Error& e) {
    throw Error("<data>", where + " target", e.reason());
  }
  if (range.begin < 1) {
    throw Error("<data>", where + " target",
                "\"" + target + "\" starts at the first token of \"" + sequence + "\": nothing predicts it");
  }
  return range;
}

FeatureRuns feature_runs(const std::vector<FeatureRow>& rows, bool edited) {
  FeatureRuns runs;
  runs.result_of.resize(rows.size());
  std::map<std::string, std::size_t> seen;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!edited) {
      const auto [at, added] = seen.emplace(feature_sequence(rows[r]), runs.run.size());
      runs.result_of[r] = at->second;
      if (!added) continue;
    } else {
      runs.result_of[r] = runs.run.size();
    }
    runs.run.push_back(r);
  }
  return runs;
}

std::vector<double> score_feature_targets(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                          Editor* editor, const EditorInputs* inputs,
                                          const std::vector<data::MediationSample>& samples,
                                          const std::vector<FeatureRow>& rows,
                                          const TargetScoringOptions& options) {
  torch::NoGradGuard no_grad;
  if (options.batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  if (editor != nullptr && (inputs == nullptr || inputs->size() != static_cast<std::int64_t>(samples.size())))
    throw std::invalid_argument("score_feature_targets: one row of editor inputs per sample needed");
  EditorConfig config;
  config.hidden_size = model.config().hidden_size;
  if (editor != nullptr) config = editor->config();
  const auto [scored, result_of] = feature_runs(rows, editor != nullptr);
  std::vector<double> sums(scored.size());
  ProgressBar progress(options.label, static_cast<std::int64_t>(scored.size()), options.progress);
  const auto step = static_cast<std::size_t>(options.batch_size);
  for (std::size_t begin = 0; begin < scored.size(); begin += step) {
    const std::size_t end = std::min(scored.size(), begin + step);
    std::vector<std::string> texts;
    std::vector<std::string> entities;
    std::vector<std::int64_t> owners;
    EditBatchOptions batch_options;
    batch_options.edit_last_entity_token = config.edit_last_entity_token;
    batch_options.max_length = model.config().max_positions;
    batch_options.allow_missing_entity = editor == nullptr;  // nothing is edited
    for (std::size_t k = begin; k < end; ++k) {
      const FeatureRow& row = rows[scored[k]];
      texts.push_back(feature_sequence(row));
      entities.push_back(row.entity);
      owners.push_back(static_cast<std::int64_t>(row.sample));
      batch_options.row_names.push_back("sample " + samples.at(row.sample).id + " " +
                                        feature_kind_name(row.kind) + " feature \"" + row.feature + "\"");
    }
    EditBatch batch = make_edit_batch(tokenizer, texts, entities, batch_options);
    // Target tokens [i, j) are predicted at positions [i - 1, j - 1); rows are padded to the longest
    // target by repeating their last position, and the repeats are masked out of the sums.
    const auto batch_rows = static_cast<std::int64_t>(texts.size());
    std::vector<tok::TokenRange> ranges;
    std::int64_t width = 1;
    for (std::int64_t b = 0; b < batch_rows; ++b) {
      const auto row = static_cast<std::size_t>(b);
      const tok::TokenRange range = target_token_range(
          tokenizer.encode(texts[row], true).offsets, texts[row], rows[scored[begin + row]].target,
          options.target_first_occurrence, batch_options.row_names[row]);
      if (range.end > batch.lengths[b].item<std::int64_t>()) {
        throw Error("<data>", batch_options.row_names[row],
                    "longer than the model's " + std::to_string(model.config().max_positions) + " positions");
      }
      ranges.push_back(range);
      width = std::max(width, range.end - range.begin);
    }
    torch::Tensor positions = torch::empty({batch_rows, width}, torch::kInt64);
    torch::Tensor targets = torch::empty({batch_rows, width}, torch::kInt64);
    torch::Tensor mask = torch::zeros({batch_rows, width}, torch::kFloat32);
    const torch::Tensor ids = batch.tokens.input_ids.cpu();
    const auto id_at = ids.accessor<std::int64_t, 2>();
    auto position_at = positions.accessor<std::int64_t, 2>();
    auto target_at = targets.accessor<std::int64_t, 2>();
    auto mask_at = mask.accessor<float, 2>();
    for (std::int64_t b = 0; b < batch_rows; ++b) {
      const tok::TokenRange& range = ranges[static_cast<std::size_t>(b)];
      for (std::int64_t p = 0; p < width; ++p) {
        const std::int64_t token = std::min(range.begin + p, range.end - 1);
        position_at[b][p] = token - 1;
        target_at[b][p] = id_at[b][token];
        mask_at[b][p] = range.begin + p < range.end ? 1.0F : 0.0F;
      }
    }
    torch::Tensor directions;
    if (editor != nullptr) {
      const torch::Tensor index = torch::tensor(owners, torch::kInt64);
      batch.entity_inputs = inputs->entity(config.input_last_entity_token).index_select(0, index);
      batch.attribute_inputs = inputs->attribute_average.index_select(0, index);
      directions = batch_directions(*editor, batch, model.device());
    }
    const torch::Tensor logp =
        edited_logprobs(model, batch, config.layer, directions, positions, ComputeMode::Efficient).cpu();
    const torch::Tensor sum = (logp.gather(2, targets.unsqueeze(2)).squeeze(2) * mask).sum(1);  // (B)
    for (std::int64_t b = 0; b < batch_rows; ++b)
      sums[begin + static_cast<std::size_t>(b)] = sum[b].item<double>();
    progress.advance(static_cast<std::int64_t>(end - begin));
  }
  std::vector<double> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) out[r] = sums[result_of[r]];
  return out;
}

std::optional<double> reference_logp(const std::string& prob, const std::string& where) {
  double value = 0.0;
  const char* first = prob.data();
  const char* last = first + prob.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (prob.empty() || error != std::errc() || end != last || !(value >= 0.0 && value <= 1.0)) {
    throw Error("<data>", where, "\"" + prob + "\" is not a probability");
  }
  if (value == 0.0) return std::nullopt;
  return std::log(value);
}

std::vector<SampleEntailment> group_features(std::size_t samples, const std::vector<FeatureRow>& rows,
                                             const std::vector<double>& pre, const std::vector<double>* post,
                                             const std::vector<double>* no_context) {
  if (pre.size() != rows.size() || (post != nullptr && post->size() != rows.size()) ||
      (no_context != nullptr && no_context->size() != rows.size())) {
    throw std::invalid_argument("group_features: one score per row needed");
  }
  std::vector<SampleEntailment> out(samples);
  for (std::size_t i = 0; i < samples; ++i) out[i].sample = i;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const FeatureRow& row = rows[r];
    if (row.sample >= samples) throw std::invalid_argument("group_features: row of an unknown sample");
    ScoredFeature f;
    f.row = row;
    f.logp_pre = pre[r];
    if (post != nullptr) {
      f.logp_post = (*post)[r];
      f.delta_prob = std::exp((*post)[r]) - std::exp(pre[r]);
    } else if (no_context != nullptr) {
      f.logp_no_context = (*no_context)[r];
      f.delta_prob = std::exp(pre[r]) - std::exp((*no_context)[r]);
    }
    SampleEntailment& s = out[row.sample];
    if (row.kind == FeatureKind::Unrel) {
      s.unrel.push_back(std::move(f));
      continue;
    }
    f.logp_ref = reference_logp(row.prob, std::string(row.kind == FeatureKind::Co ? "co_prob" : "prob") +
                                              " of feature \"" + row.feature + "\"");
    if (!f.logp_ref) {
      s.dropped.push_back(std::move(f));
    } else {
      (row.kind == FeatureKind::Co ? s.co : s.orig).push_back(std::move(f));
    }
  }
  for (SampleEntailment& s : out) {
    s.co_corr_pre = correlation(s.co, false);
    s.orig_corr_pre = correlation(s.orig, false);
    if (post != nullptr) {
      s.co_corr_post = correlation(s.co, true);
      s.orig_corr_post = correlation(s.orig, true);
    }
    s.co_delta_prob = mean_delta(s.co);
    s.orig_delta_prob = mean_delta(s.orig);
    s.unrel_delta_prob = mean_delta(s.unrel);
  }
  return out;
}

EntailmentMetrics entailment_metrics(const std::vector<SampleEntailment>& samples, bool post, bool delta) {
  EntailmentMetrics m;
  m.co_corr_pre = summarize(samples, &SampleEntailment::co_corr_pre);
  m.orig_corr_pre = summarize(samples, &SampleEntailment::orig_corr_pre);
  if (post) {
    m.co_corr_post = summarize(samples, &SampleEntailment::co_corr_post);
    m.orig_corr_post = summarize(samples, &SampleEntailment::orig_corr_post);
  }
  if (delta) {
    m.co_delta_prob = summarize(samples, &SampleEntailment::co_delta_prob);
    m.orig_delta_prob = summarize(samples, &SampleEntailment::orig_delta_prob);
    m.unrel_delta_prob = summarize(samples, &SampleEntailment::unrel_delta_prob);
  }
  return m;
}

}  // namespace remedi
