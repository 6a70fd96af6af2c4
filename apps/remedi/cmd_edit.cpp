// `remedi edit`: apply a trained editor to one prompt and show what changes: the top-10 next tokens
// with probabilities and a greedy continuation, before and after the edit.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/text.h"
#include "lm/generate.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct EditArgs {
  std::string model = "smollm2";
  std::string editors;
  std::string type = "linear";
  std::int64_t layer = -1;
  std::string entity;
  std::string context;
  std::string attribute;
  std::string prompt;
  std::int64_t max_new_tokens = 12;
  std::int64_t top = 10;
  double alpha = 1.0;
  double beta = 1.0;
  std::string device = "cpu";
  std::string dtype = "fp32";
  bool json = false;
};

// Without --attribute: the context after the entity's last mention, trimmed like CounterFact's
// attributes (METHOD §3.2); the whole context when the entity is not in it.
std::string default_attribute(const std::string& entity, const std::string& context) {
  const std::size_t at = context.rfind(entity);
  if (at == std::string::npos) return context;
  const std::string rest = data::strip_chars(context.substr(at + entity.size()), ",-;: ");
  return rest.empty() ? context : rest;
}

struct Prediction {
  std::vector<std::pair<std::int64_t, double>> top;  // id, probability
  std::string continuation;
};

Prediction predict(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, EditBatch& batch,
                   const torch::Tensor& directions, const EditArgs& args, std::int64_t layer) {
  torch::NoGradGuard no_grad;
  Prediction out;
  lm::ForwardOptions forward;
  forward.logits = lm::LogitsAt::Last;
  lm::Intervention edit{layer, directions, batch.edit_ranges, args.alpha, args.beta};
  if (directions.defined()) forward.interventions.push_back(edit);
  const torch::Tensor probs = torch::softmax(model.forward(batch.tokens, forward).logits[0], -1).cpu();
  const auto top = probs.topk(args.top);
  for (std::int64_t k = 0; k < args.top; ++k) {
    out.top.emplace_back(std::get<1>(top)[k].item<std::int64_t>(), std::get<0>(top)[k].item<double>());
  }
  lm::GenerateOptions generate;
  generate.max_new_tokens = args.max_new_tokens;
  generate.eos_id = tokenizer.eos_id();
  generate.pad_id = tokenizer.pad_id();
  if (directions.defined()) generate.interventions.push_back(edit);
  const torch::Tensor tokens = lm::generate(model, batch.tokens, generate).tokens[0].cpu();
  std::vector<std::int64_t> ids(tokens.data_ptr<std::int64_t>(),
                                tokens.data_ptr<std::int64_t>() + tokens.numel());
  out.continuation = tokenizer.decode(ids, /*skip_special_tokens=*/true);
  return out;
}

nlohmann::json prediction_json(const tok::Tokenizer& tokenizer, const Prediction& p) {
  nlohmann::json top = nlohmann::json::array();
  for (const auto& [id, prob] : p.top)
    top.push_back({{"id", id}, {"text", tokenizer.decode({id})}, {"prob", prob}});
  return {{"top_tokens", top}, {"continuation", p.continuation}};
}

void run(const EditArgs& flags) {
  EditArgs args = flags;
  args.editors = editors_dir(flags.editors);
  if (args.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must be >= 0");
  if (args.top < 1) throw Error("<argument>", "--top", "must be >= 1");
  const std::string path = lm::resolve_model_path(args.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(args.device), lm::parse_dtype(args.dtype)});
  if (args.top > model->config().vocab_size) {
    throw Error("<argument>", "--top",
                std::to_string(args.top) + " is more than the model's " +
                    std::to_string(model->config().vocab_size) + " tokens");
  }
  std::int64_t layer = args.layer;
  if (layer < 0) {
    const std::vector<std::int64_t> layers = saved_layers(args.editors, args.type);
    if (layers.size() != 1) {
      throw Error(args.editors, "--layer",
                  layers.empty() ? "no saved " + args.type + " editor here"
                                 : "several layers saved here; choose one with -l");
    }
    layer = layers.front();
  }
  const std::shared_ptr<Editor> editor = load_editor(editor_folder(args.editors, args.type, layer), *model);
  editor->eval();

  data::MediationSample sample;
  sample.id = "edit";
  sample.entity = args.entity;
  sample.context = args.context;
  sample.attribute = args.attribute.empty() ? default_attribute(args.entity, args.context) : args.attribute;
  sample.prompt = args.prompt;
  if (sample.context.find(sample.attribute) == std::string::npos) {
    throw Error("<argument>", "--attribute", "'" + sample.attribute + "' is not part of the context");
  }
  PrecomputeOptions precompute;
  precompute.layer = layer;
  const EditorInputs inputs = precompute_editor_inputs(*model, tokenizer, {sample}, precompute);
  EditBatchOptions batch_options;
  batch_options.edit_last_entity_token = editor->config().edit_last_entity_token;
  batch_options.max_length = model->config().max_positions;
  batch_options.row_names = {"--prompt"};
  EditBatch batch = make_edit_batch(tokenizer, {sample.prompt}, {sample.entity}, batch_options);
  batch.entity_inputs = inputs.entity(editor->config().input_last_entity_token);
  batch.attribute_inputs = inputs.attribute_average;
  torch::Tensor directions;
  {
    torch::NoGradGuard no_grad;
    directions = batch_directions(*editor, batch, model->device());
  }
  const Prediction before = predict(*model, tokenizer, batch, torch::Tensor(), args, layer);
  const Prediction after = predict(*model, tokenizer, batch, directions, args, layer);

  if (args.json) {
    const nlohmann::json out = {{"model", path},
                                {"editor", editor_folder(args.editors, args.type, layer)},
                                {"layer", layer},
                                {"entity", sample.entity},
                                {"context", sample.context},
                                {"attribute", sample.attribute},
                                {"prompt", sample.prompt},
                                {"alpha", args.alpha},
                                {"beta", args.beta},
                                {"direction_norm", directions.norm().item<double>()},
                                {"before", prediction_json(tokenizer, before)},
                                {"after", prediction_json(tokenizer, after)}};
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "prompt:    " << sample.prompt << "\n"
            << "edit:      " << args.type << " editor, layer " << layer << ", entity \"" << sample.entity
            << "\", attribute \"" << sample.attribute << "\"\n\n";
  std::printf("%-4s %-28s %-28s\n", "", "before", "after");
  for (std::size_t k = 0; k < before.top.size(); ++k) {
    const auto cell = [&](const std::pair<std::int64_t, double>& entry) {
      char text[64];
      std::snprintf(text, sizeof text, "%-18s %6.2f%%",
                    nlohmann::json(tokenizer.decode({entry.first})).dump().c_str(), 100.0 * entry.second);
      return std::string(text);
    };
    std::printf("%-4zu %-28s %-28s\n", k + 1, cell(before.top[k]).c_str(), cell(after.top[k]).c_str());
  }
  std::cout << "\nbefore: " << sample.prompt << before.continuation << "\n"
            << "after:  " << sample.prompt << after.continuation << "\n";
}

}  // namespace

void register_edit(CLI::App& app) {
  auto args = std::make_shared<EditArgs>();
  auto* cmd = app.add_subcommand(
      "edit", "Apply a trained editor to a prompt: top tokens and continuation before/after");
  cmd->add_option("-m,--model", args->model, "smollm2, gpt2, gpt2-xl, gptj, neox, or a path")
      ->capture_default_str();
  cmd->add_option(
         "-e,--editors-dir", args->editors,
         "Training experiment folder (results/<name>), or the name of an editor shipped in data/editors")
      ->required();
  cmd->add_option("-t,--editor-type", args->type, "Editor type")->capture_default_str();
  require_non_negative(
      cmd->add_option("-l,--layer", args->layer, "Edit layer (default: the only saved one)"));
  cmd->add_option("--entity", args->entity, "Entity whose representation is edited")->required();
  cmd->add_option("--context", args->context, "Sentence stating the attribute, e.g. 'X is a dentist'")
      ->required();
  cmd->add_option("--attribute", args->attribute,
                  "Attribute, a part of the context (default: after the entity)");
  cmd->add_option("--prompt", args->prompt, "Prompt that mentions the entity")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Greedy continuation length")
      ->capture_default_str();
  cmd->add_option("--top", args->top, "How many next tokens to list")->capture_default_str();
  require_finite(cmd->add_option("--alpha", args->alpha, "h <- beta h + alpha d")->capture_default_str());
  require_finite(cmd->add_option("--beta", args->beta, "h <- beta h + alpha d")->capture_default_str());
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "fp32 | bf16 | fp16")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
