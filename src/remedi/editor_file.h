// Editor files (METHOD §6.5, DESIGN "editors saved as safetensors + a JSON sidecar"). One folder per
// trained editor, <editors dir>/<type>/<layer>/, holding
//   editor.safetensors  the state (float32; the original's state-dict key names, e.g. "w.weight")
//   editor.json         {"format": "remedi-editor", "version": 1, "type", "layer", "hidden_size",
//                        "options": {...EditorConfig flags}, "model": {"fingerprint", "family",
//                        "n_layer", "hidden_size", "path"}, "training": {...free-form report}}
// The sidecar is written last (both atomically), so a folder with editor.json is complete.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "remedi/editor.h"

namespace remedi::lm {
class CausalLM;
}

namespace remedi {

// Identifies the weights an editor was trained against: family and shape, plus a hash of a strided
// sample of the token embedding rounded to bfloat16 (so fp32 and bf16 loads of one checkpoint, and
// its GGUF and safetensors forms when they hold the same values, agree). Format "<family>-<n_layer>x<H>-<16
// hex>".
std::string model_fingerprint(const lm::CausalLM& model);
// The same from a model's parts: its family's name (lm::family_name), sizes and token embedding
// (V, H), any dtype and device. What the Python package's remedi.hf checks a transformers model with.
std::string model_fingerprint(std::string_view family, std::int64_t n_layer, std::int64_t hidden_size,
                              std::int64_t vocab_size, const torch::Tensor& token_embedding);

// What a file written against `model` records about it: fingerprint, family, n_layer, hidden_size,
// path (the editor sidecar's and the direction dump's "model" object).
nlohmann::json model_json(const lm::CausalLM& model);

// <editors_dir>/<type>/<layer>
std::string editor_folder(const std::string& editors_dir, const std::string& type, std::int64_t layer);

void save_editor(const Editor& editor, const std::string& folder, const lm::CausalLM& model,
                 const nlohmann::json& training = nlohmann::json::object());

// Loads <folder>/editor.json + editor.safetensors onto the model's device. Throws remedi::Error naming
// the file and field when the folder is incomplete, the sidecar is malformed, a tensor is missing or
// has the wrong shape, or the editor was trained for another model (fingerprint mismatch).
std::shared_ptr<Editor> load_editor(const std::string& folder, const lm::CausalLM& model);

// What an editor is loaded for when no lm::CausalLM holds the model (remedi.hf: a transformers model
// in Python): the sizes it must match, its fingerprint (empty: not checked) and the device.
struct EditorTarget {
  std::int64_t n_layer = 0;
  std::int64_t hidden_size = 0;
  std::string fingerprint;
  std::string path;  // named in the fingerprint error
  torch::Device device = torch::kCPU;
};
std::shared_ptr<Editor> load_editor(const std::string& folder, const EditorTarget& target);

// The editor of `type` at `layer` under `editors_dir` (<editors_dir>/<type>/<layer>); `layer` < 0: the
// only layer saved there. Throws remedi::Error naming the folder and --layer when there is no saved
// editor, or several layers and none chosen.
std::shared_ptr<Editor> load_editor(const std::string& editors_dir, const std::string& type,
                                    std::int64_t layer, const lm::CausalLM& model);

// Layers with a saved editor of `type` under `editors_dir` (numeric sub-folders holding editor.json),
// sorted.
std::vector<std::int64_t> saved_layers(const std::string& editors_dir, const std::string& type);

}  // namespace remedi
