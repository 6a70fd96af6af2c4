// `remedi inspect PATH`: what a model file holds (lm/model_info.h) — architecture, sizes, tensors per
// storage type, parameter and byte counts — for a .gguf file or a Hugging Face folder, as aligned
// text or one JSON object. Reads headers only, so it is instant even for large checkpoints.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "lm/model_info.h"

namespace remedi::cli {

namespace {

struct InspectArgs {
  std::string path;
  bool json = false;
  bool tensors = false;
  bool metadata = false;
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

void row(const std::string& label, const std::string& value) {
  std::cout << label << std::string(16 - label.size(), ' ') << value << "\n";
}

const char* const kBytes[] = {"B", "KiB", "MiB", "GiB", nullptr};

void print_model_rows(const lm::ModelFileInfo& info) {
  const lm::ModelConfig& c = info.config;
  static const char* const kCounts[] = {"", "K", "M", "B", nullptr};
  std::string dtype_counts;
  for (const auto& [dtype, count] : info.tensors_per_dtype) {
    dtype_counts += (dtype_counts.empty() ? "" : ", ") + dtype + " " + std::to_string(count);
  }
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
  row("tensors", std::to_string(info.tensors.size()) + " (" + dtype_counts + ")");
  row("parameters", std::to_string(info.total_parameters) + " (" +
                        with_unit(static_cast<double>(info.total_parameters), kCounts, 1000) + ")");
}

// A GGUF file without tensors: what its vocabulary is.
void print_vocabulary_rows(const lm::ModelFileInfo& info) {
  row("architecture", info.architecture.empty() ? "-" : info.architecture);
  row("contents", "vocabulary only (no tensors)");
  row("tokenizer", info.tokenizer_model.empty() ? "-" : info.tokenizer_model);
  row("vocab", std::to_string(info.config.vocab_size));
}

void print_text(const InspectArgs& args, const lm::ModelFileInfo& info) {
  row("path", info.path);
  row("format", info.format);
  if (info.vocabulary_only) {
    print_vocabulary_rows(info);
  } else {
    print_model_rows(info);
  }
  row("file size", std::to_string(info.file_size) + " bytes (" +
                       with_unit(static_cast<double>(info.file_size), kBytes, 1024) + ")");
  if (args.metadata) {
    std::cout << "\nmetadata\n";
    for (const auto& [key, value] : info.metadata) std::cout << "  " << key << " = " << value << "\n";
  }
  if (args.tensors) {
    std::cout << "\ntensors\n";
    for (const lm::TensorInfo& t : info.tensors) {
      std::cout << "  " << t.name << "  " << io::dtype_name(t.dtype) << "  " << shape_text(t.shape) << "\n";
    }
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
  cmd->callback([args] {
    const lm::ModelFileInfo info = lm::inspect_model_file(args->path);
    if (args->json) {
      std::cout << lm::model_file_info_json(info, args->tensors, args->metadata).dump(2) << "\n";
    } else {
      print_text(*args, info);
    }
  });
}

}  // namespace remedi::cli
