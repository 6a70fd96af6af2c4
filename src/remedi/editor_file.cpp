#include "remedi/editor_file.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "io/safetensors.h"
#include "lm/model.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/read_file.h"

namespace remedi {

namespace {

constexpr const char* kSidecar = "editor.json";
constexpr const char* kTensors = "editor.safetensors";

nlohmann::json options_json(const EditorConfig& config) {
  return {{"use_entity", config.use_entity},
          {"use_attribute", config.use_attribute},
          {"rank", config.rank},
          {"input_last_entity_token", config.input_last_entity_token},
          {"edit_last_entity_token", config.edit_last_entity_token}};
}

template <typename T>
T required(const nlohmann::json& object, const std::string& key, const std::string& file) {
  if (!object.is_object() || !object.contains(key)) throw Error(file, key, "missing");
  try {
    return object.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(file, key, "has the wrong type");
  }
}

}  // namespace

std::string model_fingerprint(std::string_view family, std::int64_t n_layer, std::int64_t hidden_size,
                              std::int64_t vocab_size, const torch::Tensor& token_embedding) {
  std::ostringstream shape;
  shape << family << "-" << n_layer << "x" << hidden_size;
  torch::NoGradGuard no_grad;
  const torch::Tensor embedding = token_embedding.reshape(-1);
  const std::int64_t stride = std::max<std::int64_t>(1, embedding.numel() / 65536);
  const torch::Tensor sample =
      embedding.slice(0, 0, embedding.numel(), stride).to(torch::kCPU, torch::kFloat32).contiguous();
  std::uint64_t hash = fnv1a_field(kFnvOffset, shape.str() + "/" + std::to_string(vocab_size));
  const float* values = sample.data_ptr<float>();
  for (std::int64_t i = 0; i < sample.numel(); ++i) {
    const std::uint16_t bits = io::f32_to_bf16(values[i]);
    hash = fnv1a(hash, &bits, sizeof bits);
  }
  return shape.str() + "-" + hex64(hash);
}

std::string model_fingerprint(const lm::CausalLM& model) {
  const lm::ModelConfig& c = model.config();
  return model_fingerprint(lm::family_name(c.family), c.n_layer, c.hidden_size, c.vocab_size,
                           model.weights().token_embedding);
}

nlohmann::json model_json(const lm::CausalLM& model) {
  const lm::ModelConfig& c = model.config();
  return {{"fingerprint", model_fingerprint(model)},
          {"family", std::string(lm::family_name(c.family))},
          {"n_layer", c.n_layer},
          {"hidden_size", c.hidden_size},
          {"path", model.path()}};
}

std::string editor_folder(const std::string& editors_dir, const std::string& type, std::int64_t layer) {
  return (std::filesystem::path(editors_dir) / type / std::to_string(layer)).string();
}

void save_editor(const Editor& editor, const std::string& folder, const lm::CausalLM& model,
                 const nlohmann::json& training) {
  create_folders(folder);
  const EditorConfig& config = editor.config();
  std::vector<torch::Tensor> keep_alive;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, value] : editor_state(editor)) {
    const torch::Tensor cpu = value.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    keep_alive.push_back(cpu);
    tensors.push_back({name, io::DType::F32, cpu.sizes().vec(),
                       std::span<const std::byte>(static_cast<const std::byte*>(cpu.data_ptr()),
                                                  static_cast<std::size_t>(cpu.nbytes()))});
  }
  const std::filesystem::path dir(folder);
  // Remove a stale sidecar first so a crash between the two writes never pairs old json with new weights.
  std::filesystem::remove(dir / kSidecar);
  io::write_safetensors((dir / kTensors).string(), tensors, {{"format", "remedi-editor"}});
  const nlohmann::json sidecar = {{"format", "remedi-editor"},
                                  {"version", 1},
                                  {"type", config.type},
                                  {"layer", config.layer},
                                  {"hidden_size", config.hidden_size},
                                  {"options", options_json(config)},
                                  {"model", model_json(model)},
                                  {"training", training}};
  AtomicOutputFile out((dir / kSidecar).string());
  out.write(sidecar.dump(2) + "\n");
  out.commit();
}

std::shared_ptr<Editor> load_editor(const std::string& folder, const lm::CausalLM& model) {
  const lm::ModelConfig& c = model.config();
  return load_editor(
      folder, EditorTarget{c.n_layer, c.hidden_size, model_fingerprint(model), model.path(), model.device()});
}

std::shared_ptr<Editor> load_editor(const std::string& folder, const EditorTarget& target) {
  const std::filesystem::path dir(folder);
  const std::string sidecar_path = (dir / kSidecar).string();
  if (!std::filesystem::exists(sidecar_path))
    throw Error(sidecar_path, "", "no saved editor here (editor.json missing)");
  const nlohmann::json sidecar = read_json_file(sidecar_path);
  if (required<std::string>(sidecar, "format", sidecar_path) != "remedi-editor") {
    throw Error(sidecar_path, "format", "is not \"remedi-editor\"");
  }
  if (required<int>(sidecar, "version", sidecar_path) != 1)
    throw Error(sidecar_path, "version", "unsupported (expected 1)");
  EditorConfig config;
  config.type = required<std::string>(sidecar, "type", sidecar_path);
  config.layer = required<std::int64_t>(sidecar, "layer", sidecar_path);
  config.hidden_size = required<std::int64_t>(sidecar, "hidden_size", sidecar_path);
  const nlohmann::json options = sidecar.contains("options") ? sidecar["options"] : nlohmann::json::object();
  config.use_entity = required<bool>(options, "use_entity", sidecar_path + " options");
  config.use_attribute = required<bool>(options, "use_attribute", sidecar_path + " options");
  config.rank = required<std::int64_t>(options, "rank", sidecar_path + " options");
  config.input_last_entity_token =
      required<bool>(options, "input_last_entity_token", sidecar_path + " options");
  config.edit_last_entity_token =
      required<bool>(options, "edit_last_entity_token", sidecar_path + " options");

  if (config.hidden_size != target.hidden_size) {
    throw Error(
        sidecar_path, "hidden_size",
        std::to_string(config.hidden_size) + " but the model's is " + std::to_string(target.hidden_size));
  }
  if (config.layer < 0 || config.layer >= target.n_layer) {
    throw Error(
        sidecar_path, "layer",
        std::to_string(config.layer) + " is outside the model's 0.." + std::to_string(target.n_layer - 1));
  }
  // <editors dir>/<type>/<layer>/: a sidecar that names another layer than its folder was moved or
  // edited by hand, and editing at either layer would be a guess.
  const std::string folder_name =
      dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
  if (!folder_name.empty() &&
      std::all_of(folder_name.begin(), folder_name.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
      folder_name.size() < 10 && std::stoll(folder_name) != config.layer) {
    throw Error(sidecar_path, "layer",
                std::to_string(config.layer) + " but the editor's folder is " + folder_name);
  }
  const std::string expected = required<std::string>(sidecar.value("model", nlohmann::json::object()),
                                                     "fingerprint", sidecar_path + " model");
  if (!target.fingerprint.empty() && expected != target.fingerprint) {
    throw Error(
        sidecar_path, "model.fingerprint",
        "editor was trained on model " + expected + " but " + target.path + " is " + target.fingerprint);
  }
  std::shared_ptr<Editor> editor;
  try {
    editor = make_editor(config, 0);
  } catch (const Error& e) {
    // make_editor names the command-line flags; here the values came from editor.json's fields.
    const std::map<std::string, std::string> fields = {
        {"--editor-types", "type"}, {"--rank", "options.rank"}, {"--use-entity", "options.use_entity"}};
    const auto field = fields.find(e.field());
    throw Error(sidecar_path, field == fields.end() ? e.field() : field->second, e.reason());
  }
  const auto state = editor_state(*editor);
  if (!state.empty()) {
    const std::string tensors_path = (dir / kTensors).string();
    if (!std::filesystem::exists(tensors_path)) throw Error(tensors_path, "", "missing");
    const io::SafetensorsFile file = io::SafetensorsFile::open(tensors_path);
    torch::NoGradGuard no_grad;
    for (const auto& [name, value] : state) {
      const io::TensorView* view = file.find_tensor(name);
      if (view == nullptr) throw Error(tensors_path, name, "missing");
      if (view->shape != value.sizes().vec())
        throw Error(tensors_path, name, "has the wrong shape for this editor");
      std::vector<float> values(static_cast<std::size_t>(view->numel()));
      io::to_f32(*view, values, tensors_path);
      if (!std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
        throw Error(tensors_path, name, "holds NaN or infinite values");
      value.copy_(torch::from_blob(values.data(), value.sizes(), torch::kFloat32));
    }
  }
  editor->to(target.device);
  return editor;
}

std::shared_ptr<Editor> load_editor(const std::string& editors_dir, const std::string& type,
                                    std::int64_t layer, const lm::CausalLM& model) {
  if (layer < 0) {
    const std::vector<std::int64_t> layers = saved_layers(editors_dir, type);
    if (layers.size() != 1) {
      throw Error(editors_dir, "--layer",
                  layers.empty() ? "no saved " + type + " editor here"
                                 : "several layers saved here; choose one with -l");
    }
    layer = layers.front();
  }
  return load_editor(editor_folder(editors_dir, type, layer), model);
}

std::vector<std::int64_t> saved_layers(const std::string& editors_dir, const std::string& type) {
  std::vector<std::int64_t> layers;
  const std::filesystem::path dir = std::filesystem::path(editors_dir) / type;
  if (!std::filesystem::is_directory(dir)) return layers;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      continue;
    }
    if (std::filesystem::exists(entry.path() / kSidecar)) layers.push_back(std::stoll(name));
  }
  std::sort(layers.begin(), layers.end());
  return layers;
}

}  // namespace remedi
