// `remedi random-init-model` end to end on the tiny fixtures: the output has the source's format,
// names, shapes, config, tokenizer and metadata; the weights follow the rule (Normal with the right
// std, GPT-2's scaled residual projections, norm scales 1, biases 0, buffers copied); it loads and
// runs; the seed fixes the bytes; bad input gives one line, exit 2 and no output.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "lm/model.h"
#include "test_support.h"

namespace remedi {
namespace {

namespace fs = std::filesystem;

std::vector<float> values_of(const io::TensorView& view, const std::string& file) {
  std::vector<float> values(static_cast<std::size_t>(view.numel()));
  io::to_f32(view, values, file);
  return values;
}

struct Stats {
  double mean = 0;
  double std = 0;
};

Stats stats_of(const std::vector<float>& values) {
  double sum = 0;
  for (const float v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (const float v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / static_cast<double>(values.size()))};
}

// A sample of n draws from Normal(0, std): the mean within 5 standard errors of 0, the standard
// deviation within 5% (its relative standard error is 1/sqrt(2n), under 1.2% for n >= 4096).
void expect_normal(const std::vector<float>& values, double std, const std::string& what) {
  ASSERT_GE(values.size(), 4096U) << what;
  const Stats s = stats_of(values);
  EXPECT_LT(std::abs(s.mean), 5 * std / std::sqrt(static_cast<double>(values.size()))) << what;
  EXPECT_NEAR(s.std, std, 0.05 * std) << what;
}

void expect_all(const std::vector<float>& values, float expected, const std::string& what) {
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [&](float v) { return v == expected; })) << what;
}

bool ends_with(const std::string& text, const std::string& suffix) { return text.ends_with(suffix); }

std::set<std::string> files_in(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.insert(entry.path().filename().string());
  return names;
}

bool same_value(const io::GgufValue& a, const io::GgufValue& b) {
  if (a.type != b.type) return false;
  if (a.type != io::GgufValue::Type::ARRAY) return a.value == b.value;
  if (a.array_type != b.array_type) return false;
  const auto& x = *std::get<std::shared_ptr<io::GgufArray>>(a.value);
  const auto& y = *std::get<std::shared_ptr<io::GgufArray>>(b.value);
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!same_value(x[i], y[i])) return false;
  }
  return true;
}

// The model loads with the runtime and gives finite logits over the whole vocabulary.
void expect_runs(const std::string& path) {
  const auto model = lm::CausalLM::load(path);
  torch::NoGradGuard no_grad;
  const torch::Tensor ids = torch::tensor({{5, 17, 42, 299}}, torch::kInt64);
  const torch::Tensor logits = model->forward({ids, torch::Tensor()}).logits;
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{1, 4, 300}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

class RandomInitModelCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("random-init-test"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the command into dir_/<name> and returns that folder.
  std::string run(const std::string& model, const std::string& name, const std::string& seed = "123456") {
    const std::string out = dir_ + "/" + name;
    const auto result =
        test::run_remedi({"random-init-model", "-m", model, "--out-dir", out, "--seed", seed});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return out;
  }

  std::string dir_;
};

TEST_F(RandomInitModelCli, HfFolderFollowsTheRule) {
  const std::string source = test::fixture("lm/gpt2");
  const std::string out = run(source, "gpt2_random");
  // The checkpoint becomes model.safetensors; config files are copied; the source's other weight
  // files (model.gguf, reference.safetensors) are not.
  EXPECT_EQ(files_in(out), (std::set<std::string>{"config.json", "generation_config.json",
                                                  "model.safetensors", "random_init.json"}));
  for (const char* file : {"config.json", "generation_config.json"}) {
    EXPECT_EQ(test::read_file(out + "/" + file), test::read_file(source + "/" + file)) << file;
  }
  const auto original = io::SafetensorsFile::open(source + "/model.safetensors");
  const auto random = io::SafetensorsFile::open(out + "/model.safetensors");
  ASSERT_EQ(random.tensors().size(), original.tensors().size());
  std::vector<float> c_proj;
  for (const io::TensorView& view : original.tensors()) {
    const io::TensorView& copy = random.tensor(view.name);
    EXPECT_EQ(copy.dtype, view.dtype) << view.name;
    EXPECT_EQ(copy.shape, view.shape) << view.name;
    const std::vector<float> values = values_of(copy, random.path());
    if (view.shape.size() == 1) {
      expect_all(values, ends_with(view.name, ".weight") ? 1.0F : 0.0F, view.name);
    } else if (ends_with(view.name, "c_proj.weight")) {
      c_proj.insert(c_proj.end(), values.begin(), values.end());
    } else if (ends_with(view.name, "mlp.c_fc.weight") || ends_with(view.name, "wte.weight")) {
      expect_normal(values, 0.02, view.name);
    }
  }
  // n_layer = 3: the residual output projections get 0.02 / sqrt(6).
  expect_normal(c_proj, 0.02 / std::sqrt(6.0), "c_proj");

  const auto report = nlohmann::json::parse(test::read_file(out + "/random_init.json"));
  EXPECT_EQ(report["source"], fs::absolute(source).lexically_normal().string());
  EXPECT_EQ(report["seed"], 123456);
  EXPECT_EQ(report["initializer_range"], 0.02);
  EXPECT_FALSE(report["rule"].get<std::string>().empty());
  EXPECT_TRUE(report["tensors"]["copied"].empty());
  expect_runs(out);
}

// A GPT-2 checkpoint as older transformers saved it (causal-mask buffers), with a bf16 tensor, an
// integer tensor, its own initializer_range and a tokenizer file.
TEST_F(RandomInitModelCli, HfFolderCopiesBuffersKeepsDtypesAndReadsInitializerRange) {
  const std::string fixture = test::fixture("lm/gpt2");
  const std::string source = dir_ + "/gpt2_old";
  fs::create_directories(source);
  auto config = nlohmann::json::parse(test::read_file(fixture + "/config.json"));
  config["initializer_range"] = 0.05;
  test::write_file(source + "/config.json", config.dump(2));
  test::write_file(source + "/tokenizer.json", "{\"model\": {\"type\": \"BPE\"}, \"note\": \"Café\"}\n");
  test::write_file(source + "/pytorch_model.bin", "the original weights");

  const auto original = io::SafetensorsFile::open(fixture + "/model.safetensors");
  std::vector<io::TensorToWrite> tensors;
  std::vector<std::uint16_t> wpe_bf16;
  for (const io::TensorView& view : original.tensors()) {
    if (view.name == "transformer.wpe.weight") {
      for (const float v : values_of(view, original.path())) wpe_bf16.push_back(io::f32_to_bf16(v));
      tensors.push_back(
          {view.name, io::DType::BF16, view.shape, std::as_bytes(std::span<const std::uint16_t>(wpe_bf16))});
    } else {
      tensors.push_back({view.name, view.dtype, view.shape, view.bytes});
    }
  }
  std::vector<float> mask(16);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j <= i; ++j) mask[static_cast<std::size_t>(i * 4 + j)] = 1;
  }
  const std::vector<float> masked_bias = {-1e4F};
  const std::vector<std::int64_t> index = {3, 1, 2};
  tensors.push_back({"transformer.h.0.attn.bias",
                     io::DType::F32,
                     {1, 1, 4, 4},
                     std::as_bytes(std::span<const float>(mask))});
  tensors.push_back({"transformer.h.0.attn.masked_bias",
                     io::DType::F32,
                     {},
                     std::as_bytes(std::span<const float>(masked_bias))});
  tensors.push_back(
      {"transformer.extra.weight", io::DType::I64, {3}, std::as_bytes(std::span<const std::int64_t>(index))});
  io::write_safetensors(source + "/model.safetensors", tensors, {{"format", "pt"}});

  const std::string out = run(source, "gpt2_old_random");
  EXPECT_EQ(files_in(out), (std::set<std::string>{"config.json", "model.safetensors", "random_init.json",
                                                  "tokenizer.json"}));
  EXPECT_EQ(test::read_file(out + "/tokenizer.json"), test::read_file(source + "/tokenizer.json"));
  const auto input = io::SafetensorsFile::open(source + "/model.safetensors");
  const auto random = io::SafetensorsFile::open(out + "/model.safetensors");
  for (const char* name :
       {"transformer.h.0.attn.bias", "transformer.h.0.attn.masked_bias", "transformer.extra.weight"}) {
    const io::TensorView& a = input.tensor(name);
    const io::TensorView& b = random.tensor(name);
    EXPECT_EQ(b.dtype, a.dtype) << name;
    EXPECT_EQ(b.shape, a.shape) << name;
    ASSERT_EQ(b.bytes.size(), a.bytes.size()) << name;
    EXPECT_EQ(std::memcmp(b.bytes.data(), a.bytes.data(), a.bytes.size()), 0) << name;
  }
  const io::TensorView& wpe = random.tensor("transformer.wpe.weight");
  EXPECT_EQ(wpe.dtype, io::DType::BF16);
  expect_normal(values_of(wpe, random.path()), 0.05, "wpe");
  expect_normal(values_of(random.tensor("transformer.wte.weight"), random.path()), 0.05, "wte");
  expect_normal(values_of(random.tensor("transformer.h.1.mlp.c_proj.weight"), random.path()),
                0.05 / std::sqrt(6.0), "mlp.c_proj");
  expect_all(values_of(random.tensor("transformer.ln_f.weight"), random.path()), 1.0F, "ln_f");

  const auto report = nlohmann::json::parse(test::read_file(out + "/random_init.json"));
  EXPECT_EQ(report["initializer_range"], 0.05);
  EXPECT_EQ(report["tensors"]["copied"],
            (nlohmann::json{"transformer.h.0.attn.bias", "transformer.h.0.attn.masked_bias",
                            "transformer.extra.weight"}));
  expect_runs(out);
}

TEST_F(RandomInitModelCli, GgufKeepsMetadataAndTokenizer) {
  const std::string source = test::fixture("lm/llama_gqa/model.gguf");
  const std::string out = run(source, "llama_random");
  EXPECT_EQ(files_in(out), (std::set<std::string>{"model.gguf", "random_init.json"}));
  const auto original = io::GgufFile::open(source);
  const auto random = io::GgufFile::open(out + "/model.gguf");
  EXPECT_EQ(random.version(), 3U);
  ASSERT_EQ(random.metadata().size(), original.metadata().size());
  for (const auto& [key, value] : original.metadata()) {
    ASSERT_TRUE(random.has(key)) << key;
    EXPECT_TRUE(same_value(random.get(key), value)) << key;
  }
  ASSERT_EQ(random.tensors().size(), original.tensors().size());
  for (std::size_t i = 0; i < original.tensors().size(); ++i) {
    const io::TensorView& view = random.tensors()[i];
    EXPECT_EQ(view.name, original.tensors()[i].name);
    EXPECT_EQ(view.shape, original.tensors()[i].shape) << view.name;
    EXPECT_EQ(view.dtype, io::DType::F32) << view.name;
    const std::vector<float> values = values_of(view, random.path());
    if (view.shape.size() == 1) expect_all(values, 1.0F, view.name);  // Llama: RMSNorm scales only
  }
  // Not GPT-2: the output projections keep the plain std.
  expect_normal(values_of(random.tensor("token_embd.weight"), random.path()), 0.02, "token_embd");
  std::vector<float> down;
  for (int layer = 0; layer < 3; ++layer) {
    const auto values =
        values_of(random.tensor("blk." + std::to_string(layer) + ".ffn_down.weight"), random.path());
    down.insert(down.end(), values.begin(), values.end());
  }
  expect_normal(down, 0.02, "ffn_down");

  // Same tokenizer: identical ids and tokens.
  const auto tokens_of = [](const std::string& model) {
    const auto result =
        test::run_remedi({"tokenize", "--model", model, "The capital of France, 2023!", "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto out_json = nlohmann::json::parse(result.out);
    return std::make_pair(out_json["ids"], out_json["tokens"]);
  };
  EXPECT_EQ(tokens_of(out + "/model.gguf"), tokens_of(source));
  const auto generated = test::run_remedi({"generate", "--model", out + "/model.gguf", "--prompt",
                                           "The capital", "--max-new-tokens", "3", "--json"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  EXPECT_EQ(nlohmann::json::parse(generated.out)["results"][0]["steps"].size(), 3U);
  expect_runs(out + "/model.gguf");
}

TEST_F(RandomInitModelCli, QuantizedGgufBecomesF32) {
  const std::string source = test::fixture("lm/llama_gqa/model-q8_0.gguf");
  const std::string out = run(source, "q8_random");
  const auto original = io::GgufFile::open(source);
  const auto random = io::GgufFile::open(out + "/model.gguf");
  EXPECT_EQ(original.get_int("general.file_type"), 7);
  EXPECT_EQ(random.get("general.file_type").type, original.get("general.file_type").type);
  EXPECT_EQ(random.get_int("general.file_type"), 0);  // all F32 now
  for (const io::TensorView& view : random.tensors()) {
    EXPECT_EQ(view.dtype, io::DType::F32) << view.name;
    EXPECT_EQ(view.shape, original.tensor(view.name).shape) << view.name;
  }
  expect_normal(values_of(random.tensor("output.weight"), random.path()), 0.02, "output");
  expect_runs(out + "/model.gguf");
}

TEST_F(RandomInitModelCli, Gpt2GgufScalesResidualProjections) {
  const std::string out = run(test::fixture("lm/gpt2/model.gguf"), "gpt2_gguf_random");
  const auto random = io::GgufFile::open(out + "/model.gguf");
  std::vector<float> residual;
  std::vector<float> qkv;
  for (const io::TensorView& view : random.tensors()) {
    const std::vector<float> values = values_of(view, random.path());
    if (view.shape.size() == 1) {
      expect_all(values, ends_with(view.name, ".weight") ? 1.0F : 0.0F, view.name);
    } else if (ends_with(view.name, "attn_output.weight") || ends_with(view.name, "ffn_down.weight")) {
      residual.insert(residual.end(), values.begin(), values.end());
    } else if (ends_with(view.name, "attn_qkv.weight")) {
      qkv.insert(qkv.end(), values.begin(), values.end());
    }
  }
  expect_normal(residual, 0.02 / std::sqrt(6.0), "attn_output + ffn_down");
  expect_normal(qkv, 0.02, "attn_qkv");
  const auto report = nlohmann::json::parse(test::read_file(out + "/random_init.json"));
  EXPECT_DOUBLE_EQ(report["residual_projection_std"].get<double>(), 0.02 / std::sqrt(6.0));
  expect_runs(out + "/model.gguf");
}

TEST_F(RandomInitModelCli, SeedFixesTheBytes) {
  for (const std::string& model : {test::fixture("lm/gpt2"), test::fixture("lm/llama_gqa/model.gguf")}) {
    const std::string file = fs::is_directory(model) ? "/model.safetensors" : "/model.gguf";
    const std::string tag = fs::path(model).filename().string();
    const std::string a = test::read_file(run(model, tag + "_a", "7") + file);
    const std::string b = test::read_file(run(model, tag + "_b", "7") + file);
    const std::string c = test::read_file(run(model, tag + "_c", "8") + file);
    EXPECT_EQ(a, b) << model;
    EXPECT_EQ(a.size(), c.size()) << model;
    EXPECT_NE(a, c) << model;
  }
}

TEST_F(RandomInitModelCli, BadInputGivesOneLineExitTwoAndNoOutput) {
  const auto one_line = [](const test::CommandResult& result) {
    return std::count(result.err.begin(), result.err.end(), '\n') == 1;
  };
  const std::string out = dir_ + "/out";
  auto result = test::run_remedi({"random-init-model", "-m", dir_ + "/missing", "--out-dir", out});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--model"), std::string::npos) << result.err;
  EXPECT_TRUE(one_line(result)) << result.err;
  EXPECT_FALSE(fs::exists(out));

  // A folder that is not empty is never written into.
  fs::create_directories(out);
  test::write_file(out + "/keep.txt", "mine");
  result = test::run_remedi({"random-init-model", "-m", test::fixture("lm/gpt2"), "--out-dir", out});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--out-dir"), std::string::npos) << result.err;
  EXPECT_TRUE(one_line(result)) << result.err;
  EXPECT_EQ(files_in(out), (std::set<std::string>{"keep.txt"}));

  // A bad config value: nothing is created, not even a temporary folder.
  const std::string source = dir_ + "/bad_config";
  fs::create_directories(source);
  auto config = nlohmann::json::parse(test::read_file(test::fixture("lm/gpt2/config.json")));
  config["initializer_range"] = "0.02";
  test::write_file(source + "/config.json", config.dump());
  fs::copy_file(test::fixture("lm/gpt2/model.safetensors"), source + "/model.safetensors");
  result = test::run_remedi({"random-init-model", "-m", source, "--out-dir", dir_ + "/new"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("initializer_range"), std::string::npos) << result.err;
  EXPECT_TRUE(one_line(result)) << result.err;
  EXPECT_EQ(files_in(dir_), (std::set<std::string>{"bad_config", "out"}));

  // An existing empty folder is fine.
  const std::string empty = dir_ + "/empty";
  fs::create_directories(empty);
  run(test::fixture("lm/llama_gqa/model.gguf"), "empty");
  EXPECT_EQ(files_in(empty), (std::set<std::string>{"model.gguf", "random_init.json"}));
}

}  // namespace
}  // namespace remedi
