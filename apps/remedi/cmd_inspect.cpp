// `remedi inspect PATH`: what a model file holds — architecture, sizes, tensors per storage type,
// parameter and byte counts — for a .gguf file or a Hugging Face folder (config.json + safetensors).
// Reads headers only (no tensor data), so it is instant even for large checkpoints.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "lm/config.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

namespace fs = std::filesystem;

struct InspectArgs {
  std::string path;
  bool json = false;
  bool tensors = false;
  bool metadata = false;
};

// Everything printed, gathered from either format.
struct Summary {
  std::string format;
  lm::ModelConfig config;
  std::vector<const io::TensorView*> tensors;
  std::uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;  // display strings
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string with_unit(double value, const char* const* units, double step) {
  int unit = 0;
  while (value >= step && units[unit + 1] != nullptr) {
    value /= step;
    ++unit;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%.1f %s", value, units[unit]);
  return text.data();
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void print_text(const InspectArgs& args, const Summary& summary, std::int64_t total_parameters,
                const std::map<std::string, std::int64_t>& per_dtype) {
  const lm::ModelConfig& c = summary.config;
  static const char* const kCounts[] = {"", "K", "M", "B", nullptr};
  static const char* const kBytes[] = {"B", "KiB", "MiB", "GiB", nullptr};
  std::string dtype_counts;
  for (const auto& [dtype, count] : per_dtype) {
    dtype_counts += (dtype_counts.empty() ? "" : ", ") + dtype + " " + std::to_string(count);
  }
  const auto row = [](const std::string& label, const std::string& value) {
    std::cout << label << std::string(16 - label.size(), ' ') << value << "\n";
  };
  row("path", args.path);
  row("format", summary.format);
  row("architecture", std::string(lm::family_name(c.family)));
  row("layers", std::to_string(c.n_layer));
  row("hidden size", std::to_string(c.hidden_size));
  row("heads", std::to_string(c.n_head));
  row("kv heads", std::to_string(c.n_kv_head));
  row("head dim", std::to_string(c.head_dim));
  row("intermediate", std::to_string(c.intermediate_size));
  row("vocab", std::to_string(c.vocab_size));
  row("context length", std::to_string(c.max_positions));
  row("rope theta", c.rotary_dim > 0 ? number_text(c.rope_theta) : "-");
  row("rotary dim", std::to_string(c.rotary_dim));
  row("norm eps", number_text(c.norm_eps));
  row("tied head", c.tie_word_embeddings ? "yes" : "no");
  row("tensors", std::to_string(summary.tensors.size()) + " (" + dtype_counts + ")");
  row("parameters", std::to_string(total_parameters) + " (" +
                        with_unit(static_cast<double>(total_parameters), kCounts, 1000) + ")");
  row("file size", std::to_string(summary.file_size) + " bytes (" +
                       with_unit(static_cast<double>(summary.file_size), kBytes, 1024) + ")");
  if (args.metadata) {
    std::cout << "\nmetadata\n";
    for (const auto& [key, value] : summary.metadata) std::cout << "  " << key << " = " << value << "\n";
  }
  if (args.tensors) {
    std::cout << "\ntensors\n";
    for (const io::TensorView* view : summary.tensors) {
      std::cout << "  " << view->name << "  " << io::dtype_name(view->dtype) << "  "
                << shape_text(view->shape) << "\n";
    }
  }
}

void print_json(const InspectArgs& args, const Summary& summary, std::int64_t total_parameters,
                const std::map<std::string, std::int64_t>& per_dtype) {
  const lm::ModelConfig& c = summary.config;
  nlohmann::ordered_json out = {
      {"path", args.path},
      {"format", summary.format},
      {"architecture", lm::family_name(c.family)},
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
      {"tensor_count", summary.tensors.size()},
      {"tensors_per_dtype", per_dtype},
      {"total_parameters", total_parameters},
      {"file_size_bytes", summary.file_size},
  };
  if (args.metadata) out["metadata"] = summary.metadata;
  if (args.tensors) {
    auto& list = out["tensors"] = nlohmann::ordered_json::array();
    for (const io::TensorView* view : summary.tensors) {
      list.push_back({{"name", view->name}, {"dtype", io::dtype_name(view->dtype)}, {"shape", view->shape}});
    }
  }
  std::cout << out.dump(2) << "\n";
}

void run(const InspectArgs& args) {
  // Both readers must stay alive while the summary points at their tensor views.
  std::unique_ptr<io::GgufFile> gguf;
  std::unique_ptr<io::SafetensorsCheckpoint> checkpoint;
  Summary summary;
  if (fs::is_directory(args.path)) {
    summary.config = lm::config_from_hf_json(args.path);
    checkpoint = std::make_unique<io::SafetensorsCheckpoint>(io::SafetensorsCheckpoint::open(args.path));
    summary.tensors = checkpoint->tensors();
    std::set<std::string> files;
    for (const io::TensorView* view : summary.tensors) files.insert(checkpoint->file_of(view->name));
    for (const std::string& file : files) summary.file_size += fs::file_size(file);
    summary.format =
        "safetensors (" + std::to_string(files.size()) + (files.size() == 1 ? " file)" : " files)");
  } else if (fs::path(args.path).extension() == ".gguf") {
    gguf = std::make_unique<io::GgufFile>(io::GgufFile::open(args.path));
    summary.config = lm::config_from_gguf(*gguf);
    for (const io::TensorView& view : gguf->tensors()) summary.tensors.push_back(&view);
    summary.file_size = fs::file_size(args.path);
    summary.format = "GGUF v" + std::to_string(gguf->version());
    for (const auto& [key, value] : gguf->metadata())
      summary.metadata.emplace(key, io::to_display_string(value));
  } else if (!fs::exists(args.path)) {
    throw Error(args.path, "", "no such file or folder");
  } else {
    throw Error(args.path, "", "expected a .gguf file or a Hugging Face model folder");
  }

  std::int64_t total_parameters = 0;
  std::map<std::string, std::int64_t> per_dtype;
  for (const io::TensorView* view : summary.tensors) {
    total_parameters += view->numel();
    ++per_dtype[std::string(io::dtype_name(view->dtype))];
  }
  if (args.json) {
    print_json(args, summary, total_parameters, per_dtype);
  } else {
    print_text(args, summary, total_parameters, per_dtype);
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "Show the architecture, sizes and tensors of a model file");
  cmd->add_option("path", args->path, "A .gguf file or a Hugging Face folder (config.json + safetensors)")
      ->required();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->add_flag("--tensors", args->tensors, "List every tensor (name, dtype, shape)");
  cmd->add_flag("--metadata", args->metadata, "List the GGUF metadata");
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
