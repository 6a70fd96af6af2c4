// `remedi generate-directions`: the direction dump of METHOD §8.13 (for norm analyses and PCA plots).
// For each editor layer l and every selected sample: the editor's direction, the attribute
// representation it was computed from (context.attribute.hiddens.l.average), and the hidden state of
// the prompt's last entity token after every block, unedited (h_entity_pre) and with the direction
// added at the entity as the evaluations add it (h_entity_post). Writes
// <results>/<name>/<type>/<l>/dump.safetensors and dump.json (docs/FORMATS.md; the original's
// dump.pth is a Python pickle, docs/DEVIATIONS.md), plus an args file.
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/derived.h"
#include "io/safetensors.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi::cli {

namespace {

constexpr std::int64_t kFirstRow = 5000;  // METHOD §8.13: rows [5000, 5000 + size)

struct DirectionsArgs : EvalOptions {
  std::int64_t size = 1000;
};

// The row selection in HF split syntax: --rows, else --small, else [5000, 5000 + --size).
std::string row_split(const DirectionsArgs& a, bool rows_given) {
  if (rows_given) return a.data.split;
  if (a.small) return "train[5000:6000]";
  return "train[" + std::to_string(kFirstRow) + ":" + std::to_string(kFirstRow + a.size) + "]";
}

struct Dump {
  torch::Tensor directions;     // (N, H)
  torch::Tensor attributes;     // (N, H)
  torch::Tensor h_entity_pre;   // (N, L, H)
  torch::Tensor h_entity_post;  // (N, L, H)
};

// Rows `positions` (B) of every block output in `hidden` (layer -> (B, T, H)): (B, L, H) float32 CPU.
torch::Tensor at_positions(const std::map<std::int64_t, torch::Tensor>& hidden,
                           const torch::Tensor& positions) {
  std::vector<torch::Tensor> layers;
  for (const auto& entry : hidden) {  // std::map: layer order
    const torch::Tensor& h = entry.second;
    const torch::Tensor rows = torch::arange(h.size(0), torch::kInt64).to(h.device());
    layers.push_back(h.index({rows, positions.to(h.device())}).to(torch::kCPU, torch::kFloat32));
  }
  return torch::stack(layers, 1);
}

Dump compute_dump(const lm::CausalLM& model, const tok::Tokenizer& tokenizer, Editor& editor,
                  const std::vector<data::MediationSample>& samples, const DirectionsArgs& a) {
  torch::NoGradGuard no_grad;
  const EditorConfig& config = editor.config();
  PrecomputeOptions precompute;
  precompute.layer = config.layer;
  precompute.batch_size = a.batch_size;
  precompute.progress = !a.quiet;
  const EditorInputs inputs = precompute_editor_inputs(model, tokenizer, samples, precompute);
  const std::int64_t n = inputs.size();
  const std::int64_t n_layer = model.config().n_layer;
  const std::int64_t hidden = model.config().hidden_size;
  Dump dump;
  dump.directions = torch::empty({n, hidden});
  dump.attributes = inputs.attribute_average.clone();
  dump.h_entity_pre = torch::empty({n, n_layer, hidden});
  dump.h_entity_post = torch::empty({n, n_layer, hidden});
  lm::ForwardOptions forward;
  for (std::int64_t l = 0; l < n_layer; ++l) forward.capture_layers.push_back(l);
  forward.logits = lm::LogitsAt::None;
  forward.unpadded = true;  // same values at real tokens, no work on padding
  ProgressBar progress("directions " + config.type + "/" + std::to_string(config.layer), n, !a.quiet);
  const auto step = static_cast<std::size_t>(a.batch_size);
  for (std::size_t begin = 0; begin < samples.size(); begin += step) {
    const std::size_t end = std::min(samples.size(), begin + step);
    const EditBatch batch =
        make_sample_batch(tokenizer, samples, inputs, begin, end, config, model.config().max_positions);
    const torch::Tensor directions = batch_directions(editor, batch, model.device());
    // The last token of the entity mention, whether the edit covers only it or the whole mention.
    const torch::Tensor entity_last = batch.entity_ends - 1;
    const auto first = static_cast<std::int64_t>(begin);
    const auto last = static_cast<std::int64_t>(end);
    dump.directions.slice(0, first, last).copy_(directions.to(torch::kCPU, torch::kFloat32));
    dump.h_entity_pre.slice(0, first, last)
        .copy_(at_positions(model.forward(batch.tokens, forward).hidden, entity_last));
    lm::ForwardOptions edited = forward;
    edited.interventions.push_back({config.layer, directions, batch.edit_ranges, 1.0, 1.0});
    dump.h_entity_post.slice(0, first, last)
        .copy_(at_positions(model.forward(batch.tokens, edited).hidden, entity_last));
    progress.advance(last - first);
  }
  return dump;
}

io::TensorToWrite f32_tensor(const std::string& name, const torch::Tensor& t) {
  return {name, io::DType::F32, t.sizes().vec(),
          std::span<const std::byte>(static_cast<const std::byte*>(t.data_ptr()),
                                     static_cast<std::size_t>(t.numel()) * sizeof(float))};
}

// dump.safetensors, then dump.json (both atomic; the sidecar last, so a folder with dump.json is
// complete, as with editor files).
void write_dump(const std::string& folder, const Dump& dump,
                const std::vector<data::MediationSample>& samples, const lm::CausalLM& model,
                const DirectionsArgs& a, std::int64_t layer, const std::string& split) {
  std::filesystem::create_directories(folder);
  const std::filesystem::path dir(folder);
  std::filesystem::remove(dir / "dump.json");  // never leave an old sidecar beside new tensors
  const std::vector<std::pair<std::string, torch::Tensor>> named = {
      {"directions", dump.directions.contiguous()},
      {"attributes", dump.attributes.contiguous()},
      {"h_entity_pre", dump.h_entity_pre.contiguous()},
      {"h_entity_post", dump.h_entity_post.contiguous()}};
  std::vector<io::TensorToWrite> tensors;
  nlohmann::json shapes = nlohmann::json::object();
  for (const auto& [name, t] : named) {
    tensors.push_back(f32_tensor(name, t));
    shapes[name] = t.sizes().vec();
  }
  io::write_safetensors((dir / "dump.safetensors").string(), tensors, {{"format", "remedi-directions"}});
  nlohmann::json rows = nlohmann::json::array();
  for (const data::MediationSample& s : samples) {
    rows.push_back({{"id", s.id},
                    {"entity", s.entity},
                    {"prompt", s.prompt},
                    {"context", s.context},
                    {"attribute", s.attribute}});
  }
  write_json((dir / "dump.json").string(),
             {{"format", "remedi-directions"},
              {"version", 1},
              {"type", a.type},
              {"layer", layer},
              {"dataset", a.data.dataset},
              {"rows", split},
              {"model", model_json(model)},
              {"hidden_states",
               "block outputs 0..n_layer-1 (before the final norm) at the prompt's last "
               "entity token; h_entity_post with the direction added at block " +
                   std::to_string(layer)},
              {"tensors", shapes},
              {"samples", rows}});
}

void run(const DirectionsArgs& a, bool rows_given) {
  if (a.size < 1) throw Error("<argument>", "--size", "must be at least 1");
  if (a.batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  const std::string split = row_split(a, rows_given);
  SampleSource source = a.data;
  source.split = split;
  std::vector<data::MediationSample> samples = load_samples(source);
  if (a.attribute_no_entity) data::use_attribute_as_context(samples);
  if (samples.empty()) throw Error("<argument>", rows_given ? "--rows" : "--size", "selects no samples");
  const std::string path = lm::resolve_model_path(a.model);
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(path);
  const std::unique_ptr<lm::CausalLM> model =
      lm::CausalLM::load(path, {lm::parse_device(a.device), lm::parse_dtype(a.dtype)});
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, *model);
  const std::string experiment = (std::filesystem::path(results_dir(a.results)) / a.name).string();
  nlohmann::json args = eval_options_json(a);
  args["rows"] = split;
  args["size"] = a.size;
  args["dataset"] = a.data.dataset;
  write_args_file(experiment, args);
  nlohmann::json written = nlohmann::json::object();
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const Dump dump = compute_dump(*model, tokenizer, *loaded.editors[e], samples, a);
    const std::string folder = editor_folder(experiment, a.type, layer);
    write_dump(folder, dump, samples, *model, a, layer, split);
    written[std::to_string(layer)] = (std::filesystem::path(folder) / "dump.safetensors").string();
  }
  std::cout << nlohmann::json({{"experiment", experiment},
                               {"type", a.type},
                               {"samples", samples.size()},
                               {"dumps", written}})
                   .dump(2)
            << "\n";
}

}  // namespace

void register_generate_directions(CLI::App& app) {
  auto a = std::make_shared<DirectionsArgs>();
  auto* cmd = app.add_subcommand(
      "generate-directions",
      "Dump editor directions, attribute representations and entity hidden states (pre/post edit)");
  add_eval_options(*cmd, *a);
  cmd->add_option("-d,--dataset", a->data.dataset, "counterfact, biosbias, mcrae, winoventi")
      ->capture_default_str();
  CLI::Option* rows = cmd->get_option("--rows");
  rows->description("Rows to dump (HF split syntax); instead of --size");
  rows->default_str("");
  CLI::Option* size =
      cmd->add_option("--size", a->size, "Rows [5000, 5000 + SIZE) of the data set")->capture_default_str();
  size->excludes(rows);
  size->excludes(cmd->get_option("--small"));
  cmd->callback([a, rows] { run(*a, rows->count() > 0); });
}

}  // namespace remedi::cli
