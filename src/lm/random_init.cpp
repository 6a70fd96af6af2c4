#include "lm/random_init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <variant>
#include <vector>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "lm/config.h"
#include "lm/model_path.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::lm {

namespace fs = std::filesystem;

const char* const kRandomInitRule =
    "tensors in file order, one CPU torch generator seeded with `seed`: a floating-point tensor named "
    "*.weight or *.bias with 2 dims ~ Normal(0, initializer_range) (GPT-2's residual output projections "
    "attn.c_proj / mlp.c_proj, GGUF attn_output / ffn_down: initializer_range / sqrt(2 n_layer)); with 1 "
    "dim: *.weight = 1, *.bias = 0; every other tensor (attention-mask buffers, rotary frequencies, "
    "integer tensors) copied unchanged";

namespace {

constexpr double kDefaultInitializerRange = 0.02;  // HF's default when config.json has none
constexpr const char* kReportFile = "random_init.json";

struct Counts {
  std::int64_t normal = 0, ones = 0, zeros = 0;
  std::vector<std::string> copied;

  void add(const TensorInitPlan& plan, const std::string& name) {
    switch (plan.init) {
      case TensorInit::Normal:
        ++normal;
        break;
      case TensorInit::Ones:
        ++ones;
        break;
      case TensorInit::Zeros:
        ++zeros;
        break;
      case TensorInit::Copy:
        copied.push_back(name);
        break;
    }
  }

  nlohmann::ordered_json to_json() const {
    return {{"normal", normal}, {"ones", ones}, {"zeros", zeros}, {"copied", copied}};
  }
};

// Fills the float32 tensor `out` (the shape of `source`) as `plan` says; Copy converts the source.
void initialise(const TensorInitPlan& plan, torch::Tensor& out, const io::TensorView& source,
                const std::string& file, at::Generator& generator) {
  switch (plan.init) {
    case TensorInit::Normal:
      out.normal_(0.0, plan.std, generator);
      return;
    case TensorInit::Ones:
      out.fill_(1.0);
      return;
    case TensorInit::Zeros:
      out.zero_();
      return;
    case TensorInit::Copy:
      io::to_f32(source, std::span<float>(out.data_ptr<float>(), static_cast<std::size_t>(out.numel())),
                 file);
      return;
  }
}

torch::ScalarType torch_dtype(const io::TensorView& view, const std::string& file) {
  switch (view.dtype) {
    case io::DType::F32:
      return torch::kFloat32;
    case io::DType::F16:
      return torch::kFloat16;
    case io::DType::BF16:
      return torch::kBFloat16;
    case io::DType::F64:
      return torch::kFloat64;
    default:
      throw Error(file, view.name,
                  "cannot re-initialise a tensor of dtype " + std::string(io::dtype_name(view.dtype)));
  }
}

double initializer_range_of(const std::string& folder) {
  const std::string path = (fs::path(folder) / "config.json").string();
  if (!fs::exists(path)) return kDefaultInitializerRange;  // a GGUF folder or bare weights
  const nlohmann::json config = read_json_file(path);
  if (!config.is_object() || !config.contains("initializer_range")) return kDefaultInitializerRange;
  const nlohmann::json& value = config["initializer_range"];
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0) {
    throw Error(path, "initializer_range", "must be a positive number, got " + value.dump());
  }
  return value.get<double>();
}

// Files of an HF folder that hold weights: never copied into the random model.
bool is_weight_file(const std::string& name) {
  for (const char* suffix : {".safetensors", ".safetensors.index.json", ".gguf", ".bin", ".bin.index.json",
                             ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

// The top-level files of an HF folder to copy as they are (config, tokenizer, generation config...).
std::vector<fs::path> files_to_copy(const std::string& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && !is_weight_file(name) && name != kReportFile)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Counts write_hf_copy(const std::string& source, const fs::path& staging, const RandomInitRule& rule,
                     at::Generator& generator) {
  const io::SafetensorsCheckpoint checkpoint = io::SafetensorsCheckpoint::open(source);
  const std::vector<fs::path> copies = files_to_copy(source);
  Counts counts;
  std::vector<torch::Tensor> drawn;  // keeps the new tensors' bytes alive until written
  std::vector<io::TensorToWrite> tensors;
  for (const io::TensorView* view : checkpoint.tensors()) {
    const TensorInitPlan plan = rule.plan(*view);
    counts.add(plan, view->name);
    if (plan.init == TensorInit::Copy) {
      tensors.push_back({view->name, view->dtype, view->shape, view->bytes});
      continue;
    }
    const std::string& file = checkpoint.file_of(view->name);
    const torch::ScalarType dtype = torch_dtype(*view, file);
    torch::Tensor value = torch::empty(view->shape, torch::kFloat32);
    initialise(plan, value, *view, file, generator);
    drawn.push_back(value.to(dtype).contiguous());
    const torch::Tensor& stored = drawn.back();
    tensors.push_back({view->name, view->dtype, view->shape,
                       std::span(static_cast<const std::byte*>(stored.data_ptr()), stored.nbytes())});
  }
  io::write_safetensors((staging / "model.safetensors").string(), tensors, {{"format", "pt"}});
  for (const fs::path& file : copies) fs::copy_file(file, staging / file.filename());
  return counts;
}

Counts write_gguf_copy(const io::GgufFile& gguf, const fs::path& staging, const RandomInitRule& rule,
                       at::Generator& generator) {
  // Metadata as it was (general.architecture first, as llama.cpp writes it), except that the
  // file type now says what the tensors are: all F32 (llama_ftype 0).
  io::GgufMetadata metadata;
  if (gguf.has("general.architecture"))
    metadata.emplace_back("general.architecture", gguf.get("general.architecture"));
  for (const auto& [key, value] : gguf.metadata()) {
    if (key == "general.architecture") continue;
    metadata.emplace_back(key, value);
    if (key != "general.file_type") continue;
    auto& file_type = metadata.back().second.value;  // same value type, now 0
    if (std::holds_alternative<std::uint64_t>(file_type)) file_type = std::uint64_t{0};
    if (std::holds_alternative<std::int64_t>(file_type)) file_type = std::int64_t{0};
  }
  Counts counts;
  std::vector<io::GgufTensorToWrite> tensors;
  for (const io::TensorView& view : gguf.tensors()) {
    const TensorInitPlan plan = rule.plan(view);
    counts.add(plan, view.name);
    if (plan.init == TensorInit::Copy && !io::dtype_is_float_like(view.dtype)) {
      tensors.push_back({view.name, view.dtype, view.shape, view.bytes, {}});  // integers stay as they are
      continue;
    }
    // Filled while the file is written, in file order: one tensor in memory at a time.
    tensors.push_back({view.name,
                       io::DType::F32,
                       view.shape,
                       {},
                       [source = &view, plan, &gguf, &generator](std::span<std::byte> out) {
                         torch::Tensor value = torch::from_blob(out.data(), source->shape, torch::kFloat32);
                         initialise(plan, value, *source, gguf.path(), generator);
                       }});
  }
  io::write_gguf((staging / "model.gguf").string(), metadata, tensors);
  return counts;
}

// The output folder must be new or empty; returns it as an absolute path without a trailing slash.
fs::path check_out_dir(const std::string& out_dir) {
  if (out_dir.empty()) throw Error("<argument>", "--out-dir", "must not be empty");
  fs::path target = fs::absolute(out_dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  if (fs::exists(target)) {
    if (!fs::is_directory(target)) throw Error(out_dir, "--out-dir", "exists and is not a folder");
    if (!fs::is_empty(target)) {
      throw Error(out_dir, "--out-dir", "is not empty; give a new or empty folder (nothing is overwritten)");
    }
  }
  return target;
}

// A temporary folder beside the target, removed unless renamed into place.
class StagingFolder {
 public:
  explicit StagingFolder(const fs::path& target, const std::string& flag_value) {
    create_folders(target.parent_path().string());
    std::string pattern =
        (target.parent_path() / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error(flag_value, "--out-dir",
                  std::string("cannot create a temporary folder: ") + std::strerror(errno));
    }
    path_ = pattern;
    // mkdtemp creates 0700; give the folder the permissions an ordinary new one would get.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(pattern.c_str(), 0777 & ~mask);
  }
  ~StagingFolder() {
    if (!path_.empty()) {
      std::error_code ignored;
      fs::remove_all(path_, ignored);
    }
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const fs::path& path() const { return path_; }
  // Renames the folder to `target` (which is absent or an empty folder).
  void commit(const fs::path& target) {
    fs::rename(path_, target);
    path_.clear();
  }

 private:
  fs::path path_;
};

}  // namespace

double RandomInitRule::residual_std() const {
  return initializer_range / std::sqrt(2.0 * static_cast<double>(n_layer));
}

bool RandomInitRule::is_residual_projection(const std::string& name) const {
  if (!gpt2) return false;
  return gguf ? name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight")
              : name.ends_with("attn.c_proj.weight") || name.ends_with("mlp.c_proj.weight");
}

TensorInitPlan RandomInitRule::plan(const io::TensorView& view) const {
  const std::string& name = view.name;
  const bool weight = name.ends_with(".weight");
  const bool bias = name.ends_with(".bias");
  const std::size_t dims = view.shape.size();
  if (!io::dtype_is_float_like(view.dtype) || (!weight && !bias) || dims < 1 || dims > 2) return {};
  // llama.cpp's rotary frequency factors (Llama 3's rope_freqs, longrope's rope_factors_long /
  // _short): the config's scaling, not parameters.
  if (gguf && (name == "rope_freqs.weight" || name.starts_with("rope_factors_"))) return {};
  if (dims == 2) {
    return {TensorInit::Normal, is_residual_projection(name) ? residual_std() : initializer_range};
  }
  return {weight ? TensorInit::Ones : TensorInit::Zeros, 0};
}

RandomInitRule random_init_rule(const std::string& path) {
  const bool hf = fs::is_directory(path);
  if (!hf && fs::path(path).extension() != ".gguf") {
    throw Error(path, "--model", "expected a .gguf file or a Hugging Face model folder");
  }
  RandomInitRule rule;
  const ModelConfig config = hf ? config_from_hf_json(path) : config_from_gguf(io::GgufFile::open(path));
  if (hf) rule.initializer_range = initializer_range_of(path);
  rule.gguf = !hf;
  rule.gpt2 = config.family == Family::GPT2;
  rule.n_layer = config.n_layer;
  return rule;
}

nlohmann::ordered_json write_random_init_model(const std::string& name_or_path, const std::string& out_dir,
                                               std::uint64_t seed) {
  const std::string source = resolve_model_path(name_or_path);
  const fs::path target = check_out_dir(out_dir);
  // Read and check everything before anything is written.
  const RandomInitRule rule = random_init_rule(source);
  std::unique_ptr<io::GgufFile> gguf;
  if (rule.gguf) gguf = std::make_unique<io::GgufFile>(io::GgufFile::open(source));

  nlohmann::ordered_json report = {
      {"source", fs::absolute(source).lexically_normal().string()},
      {"seed", seed},
      {"initializer_range", rule.initializer_range},
  };
  if (rule.gpt2) report["residual_projection_std"] = rule.residual_std();
  report["rule"] = kRandomInitRule;
  report["format"] = rule.gguf ? "gguf" : "safetensors";

  try {
    StagingFolder staging(target, out_dir);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const Counts counts = rule.gguf ? write_gguf_copy(*gguf, staging.path(), rule, generator)
                                    : write_hf_copy(source, staging.path(), rule, generator);
    report["tensors"] = counts.to_json();
    AtomicOutputFile out((staging.path() / kReportFile).string());
    out.write(report.dump(2) + "\n");
    out.commit();
    staging.commit(target);
  } catch (const fs::filesystem_error& e) {
    throw Error(e.path1().empty() ? out_dir : e.path1().string(), "", e.code().message());
  }
  report["out_dir"] = target.string();
  return report;
}

}  // namespace remedi::lm
