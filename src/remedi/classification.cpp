#include "remedi/classification.h"

#include <torch/torch.h>

#include <stdexcept>

#include "data/derived.h"
#include "data/python_random.h"
#include "lm/model.h"
#include "remedi/edit_batch.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi {

namespace {

struct PassOutput {
  std::map<std::int64_t, torch::Tensor> entity;  // layer -> (B, H)
  torch::Tensor logp;                            // (B, K)
};

// One full forward of `texts` (right-padded, real tokens only): the hidden state of the entity's
// last token (mention `occurrence`) after each of `layers`, and the log-probs of `ids` (B, K) at the
// last real token.
PassOutput probe_pass(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                      const std::vector<std::string>& texts, const std::vector<std::string>& entities,
                      int occurrence, const std::vector<std::string>& names, const torch::Tensor& ids,
                      const std::vector<std::int64_t>& layers) {
  EditBatchOptions options;
  options.entity_occurrence = occurrence;
  options.max_length = model.config().max_positions;
  options.row_names = names;
  const EditBatch batch = make_edit_batch(tokenizer, texts, entities, options);
  lm::ForwardOptions forward;
  forward.capture_layers = layers;
  forward.logits = lm::LogitsAt::Last;
  forward.unpadded = true;
  const lm::ForwardResult result = model.forward(batch.tokens, forward);
  PassOutput out;
  const torch::Tensor rows = torch::arange(batch.size());
  const torch::Tensor last_entity_token = (batch.entity_ends - 1).cpu();
  for (const std::int64_t layer : layers) {
    out.entity[layer] = result.hidden.at(layer).cpu().to(torch::kFloat32).index({rows, last_entity_token});
  }
  out.logp = torch::log_softmax(result.logits.cpu(), -1).gather(1, ids);
  return out;
}

void require_rows(const torch::Tensor& t, std::int64_t rows, std::int64_t dims, const char* what) {
  if (!t.defined() || t.dim() != dims || t.size(0) != rows) {
    throw std::invalid_argument(std::string("classify: ") + what + " must have " + std::to_string(rows) +
                                " rows and " + std::to_string(dims) + " dimension(s)");
  }
}

}  // namespace

EntityProbes probe_entities(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                            const std::vector<data::MediationSample>& samples,
                            const std::vector<std::int64_t>& layers, std::int64_t batch_size, bool progress) {
  torch::NoGradGuard no_grad;
  const auto rows = static_cast<std::int64_t>(samples.size());
  const std::int64_t hidden = model.config().hidden_size;
  EntityProbes probes;
  for (const std::int64_t layer : layers) {
    probes.in_context[layer] = torch::empty({rows, hidden});
    probes.in_prompt[layer] = torch::empty({rows, hidden});
  }
  for (torch::Tensor* t : {&probes.in_context_new_logp, &probes.in_context_true_logp,
                           &probes.in_prompt_new_logp, &probes.in_prompt_true_logp})
    *t = torch::empty({rows});
  ProgressBar bar("entity probes", rows, progress);
  for (std::int64_t begin = 0; begin < rows; begin += batch_size) {
    const std::int64_t end = std::min(rows, begin + batch_size);
    std::vector<std::string> in_context;
    std::vector<std::string> prompts;
    std::vector<std::string> entities;
    std::vector<std::string> context_names;
    std::vector<std::string> prompt_names;
    std::vector<std::int64_t> new_ids;
    std::vector<std::int64_t> true_ids;
    for (std::int64_t i = begin; i < end; ++i) {
      const data::MediationSample& s = samples[static_cast<std::size_t>(i)];
      if (!s.target_unmediated)
        throw Error("<data>", "sample " + s.id + " target_unmediated", "missing (CounterFact needed)");
      in_context.push_back(data::prompt_in_context(s));
      prompts.push_back(s.prompt);
      entities.push_back(s.entity);
      context_names.push_back("sample " + s.id + " prompt-in-context");
      prompt_names.push_back("sample " + s.id + " prompt");
      new_ids.push_back(first_token_id(tokenizer, s.target_mediated, "sample " + s.id + " target_mediated"));
      true_ids.push_back(
          first_token_id(tokenizer, *s.target_unmediated, "sample " + s.id + " target_unmediated"));
    }
    // (B, 2): column 0 the new object, column 1 the true one.
    const torch::Tensor ids =
        torch::stack({torch::tensor(new_ids, torch::kInt64), torch::tensor(true_ids, torch::kInt64)}, 1);
    // METHOD §4.2: the prompt's own mention is the second one in prompt-in-context, the first alone.
    const PassOutput context =
        probe_pass(model, tokenizer, in_context, entities, 1, context_names, ids, layers);
    const PassOutput prompt = probe_pass(model, tokenizer, prompts, entities, 0, prompt_names, ids, layers);
    for (const std::int64_t layer : layers) {
      probes.in_context[layer].slice(0, begin, end).copy_(context.entity.at(layer));
      probes.in_prompt[layer].slice(0, begin, end).copy_(prompt.entity.at(layer));
    }
    probes.in_context_new_logp.slice(0, begin, end).copy_(context.logp.select(1, 0));
    probes.in_context_true_logp.slice(0, begin, end).copy_(context.logp.select(1, 1));
    probes.in_prompt_new_logp.slice(0, begin, end).copy_(prompt.logp.select(1, 0));
    probes.in_prompt_true_logp.slice(0, begin, end).copy_(prompt.logp.select(1, 1));
    bar.advance(end - begin);
  }
  return probes;
}

InContextProbe probe_in_context(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                const std::vector<data::MediationSample>& samples,
                                const std::vector<std::int64_t>& layers,
                                const std::vector<std::int64_t>& token_ids, std::int64_t batch_size,
                                bool progress) {
  torch::NoGradGuard no_grad;
  const auto rows = static_cast<std::int64_t>(samples.size());
  const auto count = static_cast<std::int64_t>(token_ids.size());
  InContextProbe probe;
  for (const std::int64_t layer : layers)
    probe.entity[layer] = torch::empty({rows, model.config().hidden_size});
  probe.logp = torch::empty({rows, count});
  const torch::Tensor ids = torch::tensor(token_ids, torch::kInt64).view({1, count});
  ProgressBar bar("entity probes", rows, progress);
  for (std::int64_t begin = 0; begin < rows; begin += batch_size) {
    const std::int64_t end = std::min(rows, begin + batch_size);
    std::vector<std::string> texts;
    std::vector<std::string> entities;
    std::vector<std::string> names;
    for (std::int64_t i = begin; i < end; ++i) {
      const data::MediationSample& s = samples[static_cast<std::size_t>(i)];
      texts.push_back(data::prompt_in_context(s));
      entities.push_back(s.entity);
      names.push_back("sample " + s.id + " prompt-in-context");
    }
    // METHOD §4.2: the prompt's own mention is the second one in prompt-in-context.
    const PassOutput pass =
        probe_pass(model, tokenizer, texts, entities, 1, names, ids.expand({end - begin, count}), layers);
    for (const std::int64_t layer : layers)
      probe.entity[layer].slice(0, begin, end).copy_(pass.entity.at(layer));
    probe.logp.slice(0, begin, end).copy_(pass.logp);
    bar.advance(end - begin);
  }
  return probe;
}

torch::Tensor similarity(const torch::Tensor& a, const torch::Tensor& b, Similarity kind) {
  if (kind == Similarity::Cosine) return torch::cosine_similarity(a, b, -1, 1e-8);
  return (a * b).sum(-1);
}

BinaryScores score_binary(const std::vector<bool>& truth, const std::vector<bool>& predicted,
                          const eval::BootstrapOptions& bootstrap) {
  if (truth.empty()) throw std::invalid_argument("score_binary: no samples");
  // The three metrics of each bootstrap resample, from one pass over the resamples.
  const auto metrics_of = [](const eval::BinaryConfusion& c) {
    return std::vector<double>{eval::accuracy(c), eval::f1(c), eval::matthews_correlation(c)};
  };
  BinaryScores scores;
  scores.confusion = eval::confusion(truth, predicted);  // checks the lengths
  const std::vector<eval::ConfidenceInterval> intervals = eval::bootstrap_cis(
      truth.size(), 3,
      [&](const std::vector<std::size_t>& indices) {
        std::vector<bool> t;
        std::vector<bool> p;
        for (const std::size_t i : indices) {
          t.push_back(truth[i]);
          p.push_back(predicted[i]);
        }
        return metrics_of(eval::confusion(t, p));
      },
      bootstrap);
  const std::vector<double> values = metrics_of(scores.confusion);
  scores.accuracy = {values[0], intervals[0]};
  scores.f1 = {values[1], intervals[1]};
  scores.mcc = {values[2], intervals[2]};
  return scores;
}

torch::Tensor standardize(const torch::Tensor& rows) {
  if (rows.dim() != 2 || rows.size(0) < 2)
    throw std::invalid_argument("standardize: needs a (N, H) tensor with N >= 2");
  const torch::Tensor x = rows.to(torch::kFloat64);
  const torch::Tensor centered = x - x.mean(0, true);
  const torch::Tensor spread = x.std(0, /*unbiased=*/true, /*keepdim=*/true);
  return torch::where(spread > 0, centered / spread, torch::zeros_like(centered)).to(rows.scalar_type());
}

ClassificationResult classify(const torch::Tensor& entity, const torch::Tensor& target,
                              const torch::Tensor& comparator, const torch::Tensor& target_logp,
                              const torch::Tensor& comparator_logp, const ClassifierOptions& options) {
  require_rows(entity, entity.defined() ? entity.size(0) : 0, 2, "entity");
  const std::int64_t n = entity.size(0);
  require_rows(target, n, 2, "target directions");
  require_rows(comparator, n, 2, "comparator directions");
  require_rows(target_logp, n, 1, "target log-probs");
  require_rows(comparator_logp, n, 1, "comparator log-probs");
  if (n == 0) throw std::invalid_argument("classify: no samples");
  torch::Tensor h = entity.to(torch::kFloat32);
  torch::Tensor d_target = target.to(torch::kFloat32);
  torch::Tensor d_comparator = comparator.to(torch::kFloat32);
  if (options.normalize) {
    h = standardize(h);
    d_target = standardize(d_target);
    d_comparator = standardize(d_comparator);
  }
  ClassificationResult r;
  r.score_target = similarity(h, d_target, options.similarity);
  r.score_comparator = similarity(h, d_comparator, options.similarity);
  const auto target_l = target_logp.to(torch::kFloat64);
  const auto comparator_l = comparator_logp.to(torch::kFloat64);
  for (std::int64_t i = 0; i < n; ++i) {
    r.lm_right.push_back(target_l[i].item<double>() > comparator_l[i].item<double>());
    r.predicted_right.push_back(r.score_target[i].item<float>() > r.score_comparator[i].item<float>());
  }
  if (options.shuffle_labels_seed) data::PythonRandom(*options.shuffle_labels_seed).shuffle(r.lm_right);
  // Positive class: the LM is wrong.
  std::vector<bool> wrong;
  std::vector<bool> predicted_wrong;
  for (std::int64_t i = 0; i < n; ++i) {
    wrong.push_back(!r.lm_right[static_cast<std::size_t>(i)]);
    predicted_wrong.push_back(!r.predicted_right[static_cast<std::size_t>(i)]);
  }
  const BinaryScores scores = score_binary(wrong, predicted_wrong, options.bootstrap);
  r.confusion = scores.confusion;
  r.accuracy = scores.accuracy;
  r.f1 = scores.f1;
  r.mcc = scores.mcc;
  return r;
}

}  // namespace remedi
