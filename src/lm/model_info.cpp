#include "lm/model_info.h"

#include <filesystem>
#include <set>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace remedi::lm {

namespace fs = std::filesystem;

ModelFileInfo inspect_model_file(const std::string& path) {
  ModelFileInfo info;
  info.path = path;
  const auto add = [&info](const io::TensorView& view) {
    info.tensors.push_back({view.name, view.dtype, view.shape});
    info.total_parameters += view.numel();
    ++info.tensors_per_dtype[std::string(io::dtype_name(view.dtype))];
  };
  if (fs::is_directory(path)) {
    info.config = config_from_hf_json(path);
    const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(path);
    std::set<std::string> files;
    for (const io::TensorView* view : checkpoint.tensors()) {
      add(*view);
      files.insert(checkpoint.file_of(view->name));
    }
    for (const std::string& file : files) info.file_size += fs::file_size(file);
    info.format = "safetensors (" + std::to_string(files.size()) + (files.size() == 1 ? " file)" : " files)");
  } else if (fs::path(path).extension() == ".gguf") {
    const io::GgufFile gguf = io::GgufFile::open(path);
    if (gguf.tensors().empty()) {  // a vocabulary: no model keys to read
      info.vocabulary_only = true;
      const auto text = [&gguf](const std::string& key) { return gguf.has(key) ? gguf.get_string(key) : ""; };
      info.architecture = text("general.architecture");
      info.tokenizer_model = text("tokenizer.ggml.model");
      if (gguf.has("tokenizer.ggml.tokens")) {
        info.config.vocab_size =
            static_cast<std::int64_t>(gguf.get_string_array("tokenizer.ggml.tokens").size());
      }
    } else {
      info.config = config_from_gguf(gguf);
    }
    for (const io::TensorView& view : gguf.tensors()) add(view);
    info.file_size = fs::file_size(path);
    info.format = "GGUF v" + std::to_string(gguf.version());
    for (const auto& [key, value] : gguf.metadata()) info.metadata.emplace(key, io::to_display_string(value));
  } else if (!fs::exists(path)) {
    throw Error(path, "", "no such file or folder");
  } else {
    throw Error(path, "", "expected a .gguf file or a Hugging Face model folder");
  }
  return info;
}

nlohmann::ordered_json model_file_info_json(const ModelFileInfo& info, bool with_tensors,
                                            bool with_metadata) {
  const ModelConfig& c = info.config;
  if (info.vocabulary_only) {
    nlohmann::ordered_json out = {
        {"path", info.path},
        {"format", info.format},
        {"architecture", info.architecture},
        {"vocabulary_only", true},
        {"tokenizer_model", info.tokenizer_model},
        {"vocab_size", c.vocab_size},
        {"tensor_count", 0},
        {"file_size_bytes", info.file_size},
    };
    if (with_metadata) out["metadata"] = info.metadata;
    return out;
  }
  nlohmann::ordered_json out = {
      {"path", info.path},
      {"format", info.format},
      {"architecture", family_name(c.family)},
      {"n_layer", c.n_layer},
      {"hidden_size", c.hidden_size},
      {"n_head", c.n_head},
      {"n_kv_head", c.n_kv_head},
      {"head_dim", c.head_dim},
      {"intermediate_size", c.intermediate_size},
      {"vocab_size", c.vocab_size},
      {"context_length", c.max_positions},
      {"rope_theta", c.rotary_dim > 0 ? nlohmann::ordered_json(c.rope_theta) : nlohmann::ordered_json()},
      {"rotary_dim", c.rotary_dim},
      {"norm_eps", c.norm_eps},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"tensor_count", info.tensors.size()},
      {"tensors_per_dtype", info.tensors_per_dtype},
      {"total_parameters", info.total_parameters},
      {"file_size_bytes", info.file_size},
  };
  if (with_metadata) out["metadata"] = info.metadata;
  if (with_tensors) {
    auto& list = out["tensors"] = nlohmann::ordered_json::array();
    for (const TensorInfo& t : info.tensors) {
      list.push_back({{"name", t.name}, {"dtype", io::dtype_name(t.dtype)}, {"shape", t.shape}});
    }
  }
  return out;
}

}  // namespace remedi::lm
