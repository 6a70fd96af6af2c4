#include "remedi/pth_import.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <span>
#include <tuple>

#include "io/pickle.h"
#include "lm/model.h"
#include "remedi/editor_file.h"
#include "util/error.h"

namespace remedi {

namespace {

torch::ScalarType scalar_type(const std::string& dtype, const std::string& file, const std::string& key) {
  if (dtype == "float32") return torch::kFloat32;
  if (dtype == "float16") return torch::kFloat16;
  if (dtype == "bfloat16") return torch::kBFloat16;
  if (dtype == "float64") return torch::kFloat64;
  throw Error(file, key, "unsupported tensor type " + dtype);
}

std::vector<std::int64_t> int_list(const nlohmann::ordered_json& value) {
  std::vector<std::int64_t> out;
  for (const auto& v : value) out.push_back(v.get<std::int64_t>());
  return out;
}

}  // namespace

std::map<std::string, torch::Tensor> read_torch_state_dict(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw Error(path, "", "not a torch.save zip archive (saved by torch >= 1.6?)");
  }
  const auto record = [&](const std::string& name) {
    if (!reader->hasRecord(name)) throw Error(path, name, "missing from the archive");
    return reader->getRecord(name);
  };
  const auto [pickle_data, pickle_size] = record("data.pkl");
  const std::span<const std::byte> pickle(static_cast<const std::byte*>(pickle_data.get()), pickle_size);
  io::PickleOptions options;
  options.torch_tensors = true;
  const io::PickleValue state = io::read_pickle(pickle, path + ":data.pkl", options);
  if (!state.is_object()) throw Error(path, "data.pkl", "is not a dict of tensors");
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [key, value] : state.items()) {
    if (!value.is_object() || !value.contains("__torch_tensor__")) throw Error(path, key, "is not a tensor");
    const auto& t = value["__torch_tensor__"];
    const torch::ScalarType type = scalar_type(t["dtype"].get<std::string>(), path, key);
    const std::vector<std::int64_t> shape = int_list(t["shape"]);
    const std::vector<std::int64_t> stride = int_list(t["stride"]);
    const std::int64_t offset = t["offset"].get<std::int64_t>();
    const auto [bytes, size] = record("data/" + t["storage"].get<std::string>());
    const auto element = static_cast<std::int64_t>(c10::elementSize(type));
    const std::int64_t count = static_cast<std::int64_t>(size) / element;
    // The last element the view reaches must lie inside the storage.
    std::int64_t last = offset;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] < 0 || stride[d] < 0) throw Error(path, key, "negative size or stride");
      if (shape[d] == 0) last = -1;
      if (last >= 0) last += (shape[d] - 1) * stride[d];
    }
    if (offset < 0 || last >= count) throw Error(path, key, "reaches past its storage");
    torch::Tensor storage = torch::empty({count}, torch::TensorOptions().dtype(type));
    std::memcpy(storage.data_ptr(), bytes.get(), static_cast<std::size_t>(count * element));
    tensors[key] = storage.as_strided(shape, stride, offset).to(torch::kFloat32).contiguous();
  }
  return tensors;
}

std::shared_ptr<Editor> import_pth_editor(const std::string& pth, const std::string& type, std::int64_t layer,
                                          const lm::CausalLM& model) {
  EditorConfig config;
  config.type = type;
  config.layer = layer;
  config.hidden_size = model.config().hidden_size;
  if (layer < 0 || layer >= model.config().n_layer) {
    throw Error(
        pth, "layer",
        std::to_string(layer) + " is outside the model's 0.." + std::to_string(model.config().n_layer - 1));
  }
  std::shared_ptr<Editor> editor = make_editor(config, 0);
  std::map<std::string, torch::Tensor> tensors = read_torch_state_dict(pth);
  torch::NoGradGuard no_grad;
  for (const auto& [name, value] : editor_state(*editor)) {
    const auto found = tensors.find(name);
    if (found == tensors.end()) throw Error(pth, name, "missing (is this a " + type + " editor?)");
    torch::Tensor loaded = found->second;
    if (name == "variance" && loaded.dim() == 2) loaded = loaded.diagonal();  // METHOD Q13: H x H buffer
    if (!loaded.sizes().equals(value.sizes())) {
      throw Error(pth, name,
                  "has shape " + c10::str(loaded.sizes()) + " but a " + type + " editor of hidden size " +
                      std::to_string(config.hidden_size) + " needs " + c10::str(value.sizes()));
    }
    value.copy_(loaded);
    tensors.erase(found);
  }
  if (!tensors.empty()) throw Error(pth, tensors.begin()->first, "is not a tensor of a " + type + " editor");
  editor->to(model.device());
  return editor;
}

std::vector<PthEditorFile> find_pth_editors(const std::string& folder) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw Error(folder, "", "not a folder");
  const auto is_number = [](const std::string& name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::vector<PthEditorFile> found;
  for (const auto& type_dir : fs::directory_iterator(folder)) {
    if (!type_dir.is_directory()) continue;
    for (const auto& layer_dir : fs::directory_iterator(type_dir.path())) {
      const fs::path weights = layer_dir.path() / "weights.pth";
      const std::string layer = layer_dir.path().filename().string();
      if (is_number(layer) && fs::exists(weights)) {
        found.push_back({type_dir.path().filename().string(), std::stoll(layer), weights.string()});
      }
    }
  }
  if (found.empty()) throw Error(folder, "", "no <type>/<layer>/weights.pth below this folder");
  std::sort(found.begin(), found.end(), [](const PthEditorFile& x, const PthEditorFile& y) {
    return std::tie(x.type, x.layer) < std::tie(y.type, y.layer);
  });
  return found;
}

std::vector<std::string> import_pth_editors(const std::vector<PthEditorFile>& files,
                                            const std::string& output_dir, const lm::CausalLM& model) {
  std::vector<std::shared_ptr<Editor>> editors;
  for (const PthEditorFile& f : files) editors.push_back(import_pth_editor(f.path, f.type, f.layer, model));
  std::vector<std::string> folders;
  for (std::size_t i = 0; i < files.size(); ++i) {
    folders.push_back(editor_folder(output_dir, files[i].type, files[i].layer));
    save_editor(*editors[i], folders.back(), model,
                {{"imported_from", std::filesystem::absolute(files[i].path).string()}});
  }
  return folders;
}

}  // namespace remedi
