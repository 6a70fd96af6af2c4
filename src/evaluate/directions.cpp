#include "evaluate/directions.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <span>
#include <utility>

#include "data/derived.h"
#include "eval/results_layout.h"
#include "evaluate/results_json.h"
#include "evaluate/sharded.h"
#include "io/safetensors.h"
#include "remedi/edit_batch.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/loss.h"
#include "remedi/precompute.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/progress.h"

namespace remedi::evaluate {

namespace {

constexpr std::int64_t kFirstRow = 5000;  // METHOD §8.13: rows [5000, 5000 + size)
constexpr const char* kStem = "dump";     // dump.json beside dump.safetensors
constexpr const char* kTensorsFile = "dump.safetensors";

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

io::TensorToWrite f32_tensor(const std::string& name, const torch::Tensor& t) {
  return {name, io::DType::F32, t.sizes().vec(),
          std::span<const std::byte>(static_cast<const std::byte*>(t.data_ptr()),
                                     static_cast<std::size_t>(t.numel()) * sizeof(float))};
}

// dump.safetensors, then dump.json (both atomic; the sidecar last, so a folder with dump.json is
// complete, as with editor files).
void write_dump(const std::string& folder, const DirectionDump& dump,
                const std::vector<data::MediationSample>& samples, const lm::CausalLM& model,
                const DirectionsOptions& a, std::int64_t layer, const std::string& rows) {
  create_folders(folder);
  const std::string sidecar = eval::records_file(folder, kStem);
  std::filesystem::remove(sidecar);  // never leave an old sidecar beside new tensors
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
  io::write_safetensors((std::filesystem::path(folder) / kTensorsFile).string(), tensors,
                        {{"format", "remedi-directions"}});
  nlohmann::json listed = nlohmann::json::array();
  for (const data::MediationSample& s : samples) {
    listed.push_back({{"id", s.id},
                      {"entity", s.entity},
                      {"prompt", s.prompt},
                      {"context", s.context},
                      {"attribute", s.attribute}});
  }
  write_json(sidecar, {{"format", "remedi-directions"},
                       {"version", 1},
                       {"type", a.type},
                       {"layer", layer},
                       {"dataset", a.data.dataset},
                       {"rows", rows},
                       {"model", model_json(model)},
                       {"hidden_states",
                        "block outputs 0..n_layer-1 (before the final norm) at the prompt's last "
                        "entity token; h_entity_post with the direction added at block " +
                            std::to_string(layer)},
                       {"tensors", shapes},
                       {"samples", listed}});
}

}  // namespace

std::string directions_rows(const DirectionsOptions& a) {
  if (!a.data.split.empty()) return a.data.split;
  if (a.small) return "train[5000:6000]";
  return "train[" + std::to_string(kFirstRow) + ":" + std::to_string(kFirstRow + a.size) + "]";
}

DirectionDump compute_direction_dump(const lm::LoadedModel& model, Editor& editor,
                                     const std::vector<data::MediationSample>& samples,
                                     std::int64_t batch_size, bool progress) {
  torch::NoGradGuard no_grad;
  const EditorConfig& config = editor.config();
  PrecomputeOptions precompute;
  precompute.layer = config.layer;
  precompute.batch_size = batch_size;
  precompute.progress = progress;
  const EditorInputs inputs = precompute_editor_inputs(model.lm(), model.tok(), samples, precompute);
  const std::int64_t n = inputs.size();
  const std::int64_t n_layer = model.lm().config().n_layer;
  const std::int64_t hidden = model.lm().config().hidden_size;
  DirectionDump dump;
  dump.directions = torch::empty({n, hidden});
  dump.attributes = inputs.attribute_average.clone();
  dump.h_entity_pre = torch::empty({n, n_layer, hidden});
  dump.h_entity_post = torch::empty({n, n_layer, hidden});
  lm::ForwardOptions forward;
  for (std::int64_t l = 0; l < n_layer; ++l) forward.capture_layers.push_back(l);
  forward.logits = lm::LogitsAt::None;
  forward.unpadded = true;  // same values at real tokens, no work on padding
  ProgressBar bar("directions " + config.type + "/" + std::to_string(config.layer), n, progress);
  EditBatchOptions batch_options;
  batch_options.max_length = model.lm().config().max_positions;
  const auto step = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = 0; begin < samples.size(); begin += step) {
    const std::size_t end = std::min(samples.size(), begin + step);
    const EditBatch batch =
        make_sample_batch(model.tok(), samples, inputs, begin, end, config, batch_options);
    const torch::Tensor directions = batch_directions(editor, batch, model.lm().device());
    // The last token of the entity mention, whether the edit covers only it or the whole mention.
    const torch::Tensor entity_last = batch.entity_ends - 1;
    const auto first = static_cast<std::int64_t>(begin);
    const auto last = static_cast<std::int64_t>(end);
    dump.directions.slice(0, first, last).copy_(directions.to(torch::kCPU, torch::kFloat32));
    dump.h_entity_pre.slice(0, first, last)
        .copy_(at_positions(model.lm().forward(batch.tokens, forward).hidden, entity_last));
    lm::ForwardOptions edited = forward;
    edited.interventions.push_back({config.layer, directions, batch.edit_ranges, 1.0, 1.0});
    dump.h_entity_post.slice(0, first, last)
        .copy_(at_positions(model.lm().forward(batch.tokens, edited).hidden, entity_last));
    bar.advance(last - first);
  }
  return dump;
}

nlohmann::json DirectionsResults::summary(const std::string& type) const {
  nlohmann::json written = nlohmann::json::object();
  for (const auto& [layer, path] : dumps) written[std::to_string(layer)] = path;
  return {{"experiment", experiment}, {"type", type}, {"samples", samples}, {"dumps", written}};
}

namespace {

DirectionsResults generate_directions_body(const lm::LoadedModel& model, const DirectionsOptions& a) {
  if (a.size < 1) throw Error("<argument>", "--size", "must be at least 1");
  if (a.batch_size < 1) throw Error("<argument>", "--batch-size", "must be at least 1");
  DirectionsResults results;
  results.rows = directions_rows(a);
  SampleSource source = a.data;
  source.split = results.rows;
  std::vector<data::MediationSample> samples = load_samples(source);
  if (a.attribute_no_entity) data::use_attribute_as_context(samples);
  if (samples.empty())
    throw Error("<argument>", a.data.split.empty() ? "--size" : "--rows", "selects no samples");
  const LoadedEditors loaded = load_eval_editors(a.editors, a.type, a.layers, model.lm());
  results.experiment = experiment_folder(a);
  results.samples = samples.size();
  // Several ranks: each dumps its batches of rows, rank 0 writes the gathered dump.
  dist::Group* group = a.group.get();
  for (std::size_t e = 0; e < loaded.editors.size(); ++e) {
    const std::int64_t layer = loaded.layers[e];
    const std::vector<torch::Tensor> all =
        sharded_rows(group, samples.size(), a.batch_size, 4, [&](std::size_t begin, std::size_t end) {
          const DirectionDump d = compute_direction_dump(
              model, *loaded.editors[e], rows_of(samples, begin, end), a.batch_size, !a.quiet);
          return std::vector<torch::Tensor>{d.directions, d.attributes, d.h_entity_pre, d.h_entity_post};
        });
    const DirectionDump dump{all[0], all[1], all[2], all[3]};
    const std::string folder = editor_folder(results.experiment, a.type, layer);
    if (writes(group)) write_dump(folder, dump, samples, model.lm(), a, layer, results.rows);
    results.dumps[layer] = (std::filesystem::path(folder) / kTensorsFile).string();
  }
  return results;
}

}  // namespace

DirectionsResults generate_directions(const lm::LoadedModel& model, const DirectionsOptions& a) {
  return naming_data_file(sample_source_file(a.data), [&] { return generate_directions_body(model, a); });
}

}  // namespace remedi::evaluate
