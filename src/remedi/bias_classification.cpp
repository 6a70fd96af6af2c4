#include "remedi/bias_classification.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include "data/python_random.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

std::vector<std::string> occupation_labels(const std::vector<data::MediationSample>& samples) {
  std::set<std::string> labels;
  for (const data::MediationSample& s : samples) labels.insert(s.target_mediated);
  return {labels.begin(), labels.end()};
}

std::vector<std::int64_t> gold_label_indices(const std::vector<data::MediationSample>& samples,
                                             const std::vector<std::string>& labels) {
  std::vector<std::int64_t> gold;
  for (const data::MediationSample& s : samples) {
    const auto it = std::find(labels.begin(), labels.end(), s.target_mediated);
    if (it == labels.end())
      throw Error("<data>", "sample " + s.id + " target_mediated",
                  "'" + s.target_mediated + "' is not a label");
    gold.push_back(it - labels.begin());
  }
  return gold;
}

data::MediationSample label_sample(const data::MediationSample& sample, const std::string& label,
                                   bool attribute_alone, bool symmetric) {
  data::MediationSample out = sample;
  if (symmetric || label != sample.target_mediated) out.attribute = "has the occupation of " + label;
  out.context = attribute_alone ? out.attribute : sample.entity + " " + out.attribute;
  return out;
}

LabelInputs label_inputs(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                         const std::vector<data::MediationSample>& samples,
                         const std::vector<std::string>& labels, std::int64_t layer, bool entity_last_token,
                         bool attribute_alone, std::int64_t batch_size, bool progress, bool symmetric) {
  torch::NoGradGuard no_grad;
  const auto rows = static_cast<std::int64_t>(samples.size());
  const auto count = static_cast<std::int64_t>(labels.size());
  const std::int64_t hidden = model.config().hidden_size;
  LabelInputs out{torch::empty({rows, count, hidden}, torch::kFloat32),
                  torch::empty({rows, count, hidden}, torch::kFloat32)};
  PrecomputeOptions precompute;
  precompute.layer = layer;
  precompute.batch_size = batch_size;
  ProgressBar bar("directions layer " + std::to_string(layer), rows * count, progress);
  for (std::int64_t k = 0; k < count; ++k) {
    std::vector<data::MediationSample> rewritten;
    for (const data::MediationSample& s : samples)
      rewritten.push_back(label_sample(s, labels[static_cast<std::size_t>(k)], attribute_alone, symmetric));
    const EditorInputs inputs = precompute_editor_inputs(model, tokenizer, rewritten, precompute);
    out.entity.select(1, k).copy_(inputs.entity(entity_last_token));
    out.attribute.select(1, k).copy_(inputs.attribute_average);
    bar.advance(rows);
  }
  return out;
}

torch::Tensor label_directions(Editor& editor, const LabelInputs& inputs, torch::Device device) {
  torch::NoGradGuard no_grad;
  torch::Tensor directions = torch::empty(inputs.attribute.sizes(), torch::kFloat32);
  for (std::int64_t k = 0; k < inputs.attribute.size(1); ++k) {
    // Contiguous (N, H) per label, as precompute_editor_inputs returned them.
    directions.select(1, k).copy_(editor
                                      .forward(inputs.entity.select(1, k).contiguous().to(device),
                                               inputs.attribute.select(1, k).contiguous().to(device))
                                      .to(torch::kCPU, torch::kFloat32));
  }
  return directions;
}

torch::Tensor label_directions(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor& editor,
                               const std::vector<data::MediationSample>& samples,
                               const std::vector<std::string>& labels, bool attribute_alone,
                               std::int64_t batch_size, bool progress, bool symmetric) {
  const LabelInputs inputs =
      label_inputs(model, tokenizer, samples, labels, editor.config().layer,
                   editor.config().input_last_entity_token, attribute_alone, batch_size, progress, symmetric);
  return label_directions(editor, inputs, model.device());
}

std::vector<std::int64_t> top_k_indices(const torch::Tensor& scores, std::size_t k) {
  if (scores.dim() != 1) throw std::invalid_argument("top_k_indices: needs a 1-D tensor");
  const torch::Tensor values = scores.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = values.data_ptr<double>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(values.size(0)));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [v](std::int64_t a, std::int64_t b) { return v[a] > v[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

ErrorClassificationResult classify_errors(const torch::Tensor& entity, const torch::Tensor& directions,
                                          const torch::Tensor& label_logp,
                                          const std::vector<std::int64_t>& gold,
                                          const ErrorClassifierOptions& options) {
  if (!entity.defined() || entity.dim() != 2 || entity.size(0) == 0)
    throw std::invalid_argument("classify_errors: entity must be (N, H) with N >= 1");
  const std::int64_t n = entity.size(0);
  const std::int64_t hidden = entity.size(1);
  if (!directions.defined() || directions.dim() != 3 || directions.size(0) != n ||
      directions.size(2) != hidden)
    throw std::invalid_argument("classify_errors: directions must be (N, K, H) matching entity (N, H)");
  const std::int64_t count = directions.size(1);
  if (count < 2) throw std::invalid_argument("classify_errors: needs at least two labels");
  if (!label_logp.defined() || label_logp.dim() != 2 || label_logp.size(0) != n ||
      label_logp.size(1) != count)
    throw std::invalid_argument("classify_errors: label log-probs must be (N, K)");
  if (gold.size() != static_cast<std::size_t>(n))
    throw std::invalid_argument("classify_errors: needs one gold label per sample");
  for (const std::int64_t g : gold) {
    if (g < 0 || g >= count) throw std::invalid_argument("classify_errors: gold label index out of range");
  }
  if (options.k == 0) throw std::invalid_argument("classify_errors: k must be positive");
  torch::Tensor h = entity.to(torch::kFloat32);
  torch::Tensor d = directions.to(torch::kFloat32);
  if (options.normalize) {
    h = standardize(h);
    d = standardize(d.reshape({n * count, hidden})).view({n, count, hidden});
  }
  ErrorClassificationResult r;
  r.k = std::min(options.k, static_cast<std::size_t>(count));
  r.scores = similarity(h.unsqueeze(1), d, options.similarity);
  std::size_t probe_1 = 0;
  std::size_t probe_k = 0;
  std::size_t model_1 = 0;
  std::size_t model_k = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t g = gold[static_cast<std::size_t>(i)];
    const std::vector<std::int64_t> model_top = top_k_indices(label_logp[i], r.k);
    const std::vector<std::int64_t> probe_top = top_k_indices(r.scores[i], r.k);
    const auto contains = [](const std::vector<std::int64_t>& top, std::int64_t label) {
      return std::find(top.begin(), top.end(), label) != top.end();
    };
    r.lm_wrong.push_back(g != model_top.front());
    r.predicted_wrong.push_back(!contains(probe_top, model_top.front()));
    probe_1 += probe_top.front() == g ? 1 : 0;
    probe_k += contains(probe_top, g) ? 1 : 0;
    model_1 += model_top.front() == g ? 1 : 0;
    model_k += contains(model_top, g) ? 1 : 0;
    r.model_top_k.push_back(model_top);
    r.probe_top_k.push_back(probe_top);
  }
  const auto fraction = [n](std::size_t hits) { return static_cast<double>(hits) / static_cast<double>(n); };
  r.probe_recall_1 = fraction(probe_1);
  r.probe_recall_k = fraction(probe_k);
  r.model_recall_1 = fraction(model_1);
  r.model_recall_k = fraction(model_k);
  if (options.shuffle_labels_seed) data::PythonRandom(*options.shuffle_labels_seed).shuffle(r.lm_wrong);
  r.binary = score_binary(r.lm_wrong, r.predicted_wrong, options.bootstrap);
  return r;
}

}  // namespace remedi
