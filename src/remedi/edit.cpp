#include "remedi/edit.h"

#include <torch/torch.h>

#include <map>
#include <tuple>

#include "data/counterfact.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "tok/spans.h"
#include "util/error.h"

namespace remedi {

std::string default_attribute(const std::string& entity, const std::string& context) {
  if (entity.empty() || context.find(entity) == std::string::npos) return context;
  const std::string rest = data::attribute_after_entity(context, entity);
  return rest.empty() ? context : rest;
}

PreparedEdits prepare_edits(const lm::LoadedModel& model, const std::vector<EditRequest>& requests,
                            const std::vector<std::string>& row_names) {
  torch::NoGradGuard no_grad;
  // The field an error names: "<row name><field>" ("--prompt" for the CLI's one request).
  const auto field = [&](std::size_t row, const std::string& what) {
    return (row < row_names.size() ? row_names[row] : "request " + std::to_string(row) + " ") + what;
  };
  const lm::CausalLM& lm = model.lm();
  PreparedEdits out;
  std::vector<std::string> prompts;
  for (std::size_t row = 0; row < requests.size(); ++row) {
    const EditRequest& request = requests[row];
    prompts.push_back(request.prompt);
    out.attributes.push_back(request.attribute.empty() ? default_attribute(request.entity, request.context)
                                                       : request.attribute);
    if (request.editor && request.context.find(out.attributes.back()) == std::string::npos) {
      throw Error("<argument>", field(row, "attribute"),
                  "'" + out.attributes.back() + "' is not part of the context");
    }
  }
  out.prompts = lm::encode_batch(model.tok(), prompts, lm::PaddingSide::Left);
  const std::int64_t context_length = lm.config().max_positions;
  for (std::size_t row = 0; row < requests.size(); ++row) {
    if (context_length > 0 && out.prompts.lengths[row] > context_length) {
      throw Error("<argument>", field(row, "prompt"),
                  "is " + std::to_string(out.prompts.lengths[row]) +
                      " tokens, more than the model's context of " + std::to_string(context_length));
    }
  }

  const auto rows = static_cast<std::int64_t>(requests.size());
  out.directions = torch::zeros({rows, lm.config().hidden_size}, torch::TensorOptions().device(lm.device()));
  // Rows that share an editor share its precompute and forward pass.
  std::map<const Editor*, std::vector<std::size_t>> by_editor;
  for (std::size_t row = 0; row < requests.size(); ++row) {
    if (requests[row].editor) by_editor[requests[row].editor.get()].push_back(row);
  }
  for (const auto& [editor_ptr, members] : by_editor) {
    Editor& editor = *requests[members.front()].editor;
    std::vector<data::MediationSample> samples;
    for (const std::size_t row : members) {
      data::MediationSample sample;
      sample.id = field(row, "");
      sample.entity = requests[row].entity;
      sample.context = requests[row].context;
      sample.attribute = out.attributes[row];
      sample.prompt = requests[row].prompt;
      samples.push_back(std::move(sample));
    }
    PrecomputeOptions precompute;
    precompute.layer = editor.config().layer;
    EditorInputs inputs;
    try {
      inputs = precompute_editor_inputs(lm, model.tok(), samples, precompute);
    } catch (const Error& e) {
      // precompute names a row "<data>: sample <id> <field>", and <id> is this row's field prefix:
      // the request's own field is named instead (the context, for an attribute the cut removed).
      if (e.file() != "<data>") throw;
      for (const std::size_t row : members) {
        const std::string prefix = "sample " + field(row, "") + " ";
        if (!e.field().starts_with(prefix)) continue;
        const std::string what = e.field().substr(prefix.size());
        throw Error("<argument>", field(row, what == "attribute" ? "context" : what), e.reason());
      }
      throw;
    }
    const torch::Tensor directions =
        editor.forward(inputs.entity(editor.config().input_last_entity_token).to(lm.device()),
                       inputs.attribute_average.to(lm.device()));  // (members, H)
    // (members) rows whose direction holds NaN or infinity (an overflow in fp16, an editor gone bad):
    // adding one would silently make every later hidden state NaN.
    const torch::Tensor finite = directions.isfinite().all(-1);  // (members)
    if (!finite.all().item<bool>()) {
      const auto first_bad = finite.logical_not().nonzero()[0][0].item<std::int64_t>();
      throw Error("<argument>", field(members[static_cast<std::size_t>(first_bad)], "direction"),
                  "the editor's direction is not finite (NaN or infinite)");
    }
    const torch::Tensor index =
        torch::tensor(std::vector<std::int64_t>(members.begin(), members.end()),
                      torch::TensorOptions().dtype(torch::kInt64).device(lm.device()));
    out.directions.index_copy_(0, index, directions.to(torch::kFloat32));
  }

  // One intervention per (layer, alpha, beta); a row outside a group has an empty range in it.
  std::map<std::tuple<std::int64_t, double, double>, torch::Tensor> ranges;
  for (std::size_t row = 0; row < requests.size(); ++row) {
    const EditRequest& request = requests[row];
    if (!request.editor) continue;
    if (request.entity.empty() || request.prompt.find(request.entity) == std::string::npos) {
      throw Error("<argument>", field(row, "prompt"), "does not contain the entity '" + request.entity + "'");
    }
    tok::TokenRange range;
    try {
      range = tok::token_range(out.prompts.encodings[row].offsets, request.prompt, request.entity,
                               request.entity_occurrence);
    } catch (const Error& e) {
      throw Error("<argument>", field(row, "prompt"), e.reason());
    }
    if (request.editor->config().edit_last_entity_token) range = tok::last_token(range);
    torch::Tensor& group = ranges[{request.editor->config().layer, request.alpha, request.beta}];
    if (!group.defined()) group = torch::zeros({rows, 2}, torch::kInt64);
    const auto r = static_cast<std::int64_t>(row);
    group[r][0] = out.prompts.column(row, range.begin);
    group[r][1] = out.prompts.column(row, range.end);
  }
  for (const auto& [key, group] : ranges) {
    const auto& [layer, alpha, beta] = key;
    out.interventions.push_back({layer, out.directions, group.to(lm.device()), alpha, beta});
  }
  return out;
}

namespace {

void check_top(const lm::LoadedModel& model, std::int64_t k) {
  if (k < 1 || k > model.lm().config().vocab_size) {
    throw Error("<argument>", "top",
                std::to_string(k) + " is not between 1 and the model's " +
                    std::to_string(model.lm().config().vocab_size) + " tokens");
  }
}

// (B, k) probabilities and ids -> per row, {id, probability} in rank order.
std::vector<std::vector<TokenProbability>> top_rows(const torch::Tensor& values, const torch::Tensor& ids) {
  const torch::Tensor p_cpu = values.to(torch::kFloat64).cpu();
  const torch::Tensor i_cpu = ids.to(torch::kInt64).cpu();
  const auto p = p_cpu.accessor<double, 2>();
  const auto i = i_cpu.accessor<std::int64_t, 2>();
  std::vector<std::vector<TokenProbability>> out(static_cast<std::size_t>(p.size(0)));
  for (std::int64_t row = 0; row < p.size(0); ++row) {
    for (std::int64_t j = 0; j < p.size(1); ++j)
      out[static_cast<std::size_t>(row)].push_back({i[row][j], p[row][j]});
  }
  return out;
}

// (B, N) generated ids -> per row, the ids up to and including an EOS.
std::vector<std::vector<std::int64_t>> token_rows(const torch::Tensor& generated, std::int64_t eos_id) {
  const torch::Tensor tokens = generated.cpu().contiguous();
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t row = 0; row < tokens.size(0); ++row) {
    const std::int64_t* ids = tokens[row].data_ptr<std::int64_t>();
    std::vector<std::int64_t> row_ids;
    for (std::int64_t t = 0; t < tokens.size(1); ++t) {
      row_ids.push_back(ids[t]);
      if (eos_id >= 0 && ids[t] == eos_id) break;  // what follows is padding
    }
    out.push_back(std::move(row_ids));
  }
  return out;
}

}  // namespace

std::vector<std::vector<TokenProbability>> top_next_tokens(const lm::LoadedModel& model,
                                                           const PreparedEdits& edits, std::int64_t k,
                                                           bool edited) {
  torch::NoGradGuard no_grad;
  check_top(model, k);
  lm::ForwardOptions forward;
  forward.logits = lm::LogitsAt::Last;
  if (edited) forward.interventions = edits.interventions;
  const torch::Tensor probs = torch::softmax(model.lm().forward(edits.prompts.batch, forward).logits, -1);
  const auto [values, ids] = probs.topk(k);
  return top_rows(values, ids);
}

std::vector<std::vector<std::int64_t>> generate_tokens(const lm::LoadedModel& model,
                                                       const PreparedEdits& edits,
                                                       lm::GenerateOptions options, bool edited) {
  torch::NoGradGuard no_grad;
  options.interventions = edited ? edits.interventions : std::vector<lm::Intervention>{};
  return token_rows(lm::generate(model.lm(), edits.prompts.batch, options).tokens, options.eos_id);
}

std::vector<Continuation> continue_prompts(const lm::LoadedModel& model, const PreparedEdits& edits,
                                           std::int64_t k, lm::GenerateOptions options, bool edited) {
  torch::NoGradGuard no_grad;
  check_top(model, k);
  options.interventions = edited ? edits.interventions : std::vector<lm::Intervention>{};
  options.logprobs = k;
  const lm::GenerateResult result = lm::generate(model.lm(), edits.prompts.batch, options);
  // No step was generated (a budget of 0): the top tokens need their own pass.
  const std::vector<std::vector<TokenProbability>> top =
      result.tokens.size(1) == 0
          ? top_next_tokens(model, edits, k, edited)
          : top_rows(result.top_logprobs.select(1, 0).exp(), result.top_ids.select(1, 0));
  const std::vector<std::vector<std::int64_t>> tokens = token_rows(result.tokens, options.eos_id);
  std::vector<Continuation> out;
  for (std::size_t row = 0; row < tokens.size(); ++row) out.push_back({top[row], tokens[row]});
  return out;
}

}  // namespace remedi
