// `remedi edit`: apply a trained editor to one prompt and show what changes: the top next tokens with
// probabilities and a greedy continuation, before and after the edit (remedi/edit.h does the work).
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
#include "lm/loaded_model.h"
#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct EditArgs {
  std::string model = "smollm2";
  std::string editors;
  std::string type = "linear";
  std::int64_t layer = -1;
  EditRequest request;
  std::int64_t max_new_tokens = 12;
  std::int64_t top = 10;
  std::string device = "cpu";
  std::string dtype = "fp32";
  bool json = false;
};

struct Prediction {
  std::vector<TokenProbability> top;
  std::string continuation;
};

Prediction predict(const lm::LoadedModel& model, const PreparedEdits& edits, const EditArgs& args,
                   bool edited) {
  lm::GenerateOptions generate;
  generate.max_new_tokens = args.max_new_tokens;
  generate.eos_id = model.tok().eos_id();
  generate.pad_id = model.tok().pad_id();
  const Continuation c = continue_prompts(model, edits, args.top, generate, edited).front();
  return {c.top, model.tok().decode(c.tokens, /*skip_special_tokens=*/true)};
}

nlohmann::json prediction_json(const tok::Tokenizer& tokenizer, const Prediction& p) {
  nlohmann::json top = nlohmann::json::array();
  for (const TokenProbability& t : p.top)
    top.push_back({{"id", t.id}, {"text", tokenizer.decode({t.id})}, {"prob", t.probability}});
  return {{"top_tokens", top}, {"continuation", p.continuation}};
}

void run(const EditArgs& flags) {
  EditArgs args = flags;
  args.editors = editors_dir(flags.editors);
  if (args.max_new_tokens < 0) throw Error("<argument>", "--max-new-tokens", "must be >= 0");
  if (args.top < 1) throw Error("<argument>", "--top", "must be >= 1");
  const lm::LoadedModel model = lm::load_model(args.model, lm::load_options(args.device, args.dtype));
  if (args.top > model.lm().config().vocab_size) {
    throw Error("<argument>", "--top",
                std::to_string(args.top) + " is more than the model's " +
                    std::to_string(model.lm().config().vocab_size) + " tokens");
  }
  args.request.editor = load_editor(args.editors, args.type, args.layer, model.lm());
  args.request.editor->eval();
  const std::int64_t layer = args.request.editor->config().layer;
  const PreparedEdits edits = prepare_edits(model, {args.request}, {"--"});
  const EditRequest& r = args.request;
  const std::string& attribute = edits.attributes.front();
  const Prediction before = predict(model, edits, args, /*edited=*/false);
  const Prediction after = predict(model, edits, args, /*edited=*/true);

  if (args.json) {
    const nlohmann::json out = {{"model", model.path},
                                {"editor", editor_folder(args.editors, args.type, layer)},
                                {"layer", layer},
                                {"entity", r.entity},
                                {"context", r.context},
                                {"attribute", attribute},
                                {"prompt", r.prompt},
                                {"alpha", r.alpha},
                                {"beta", r.beta},
                                {"direction_norm", edits.directions.norm().item<double>()},
                                {"before", prediction_json(model.tok(), before)},
                                {"after", prediction_json(model.tok(), after)}};
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "prompt:    " << r.prompt << "\n"
            << "edit:      " << args.type << " editor, layer " << layer << ", entity \"" << r.entity
            << "\", attribute \"" << attribute << "\"\n\n";
  std::printf("%-4s %-28s %-28s\n", "", "before", "after");
  for (std::size_t k = 0; k < before.top.size(); ++k) {
    const auto cell = [&](const TokenProbability& entry) {
      char text[64];
      std::snprintf(text, sizeof text, "%-18s %6.2f%%",
                    nlohmann::json(model.tok().decode({entry.id})).dump().c_str(), 100.0 * entry.probability);
      return std::string(text);
    };
    std::printf("%-4zu %-28s %-28s\n", k + 1, cell(before.top[k]).c_str(), cell(after.top[k]).c_str());
  }
  std::cout << "\nbefore: " << r.prompt << before.continuation << "\n"
            << "after:  " << r.prompt << after.continuation << "\n";
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
  cmd->add_option("--entity", args->request.entity, "Entity whose representation is edited")->required();
  cmd->add_option("--context", args->request.context, "Sentence stating the attribute, e.g. 'X is a dentist'")
      ->required();
  cmd->add_option("--attribute", args->request.attribute,
                  "Attribute, a part of the context (default: after the entity)");
  cmd->add_option("--prompt", args->request.prompt, "Prompt that mentions the entity")->required();
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Greedy continuation length")
      ->capture_default_str();
  cmd->add_option("--top", args->top, "How many next tokens to list")->capture_default_str();
  require_finite(
      cmd->add_option("--alpha", args->request.alpha, "h <- beta h + alpha d")->capture_default_str());
  require_finite(
      cmd->add_option("--beta", args->request.beta, "h <- beta h + alpha d")->capture_default_str());
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, kInferenceDtypes)->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
