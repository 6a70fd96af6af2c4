// The control model's initialisation rule (METHOD §8.13, lm/random_init.h) at the library level: the
// plan each tensor gets, the rule read from a model, and the written copy of the tiny GPT-2 fixture
// checked against the rule: every drawn tensor is exactly what one generator seeded with the seed
// draws in file order, with the rule's standard deviations; norm scales 1, biases 0.
#include "lm/random_init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

namespace fs = std::filesystem;

io::TensorView view(const std::string& name, std::vector<std::int64_t> shape,
                    io::DType dtype = io::DType::F32) {
  return {name, dtype, std::move(shape), {}};
}

torch::Tensor read_f32(const io::SafetensorsCheckpoint& checkpoint, const io::TensorView& v) {
  torch::Tensor out = torch::empty(v.shape, torch::kFloat32);
  io::to_f32(v, std::span<float>(out.data_ptr<float>(), static_cast<std::size_t>(out.numel())),
             checkpoint.file_of(v.name));
  return out;
}

TEST(RandomInitRule, PlansEveryKindOfTensor) {
  RandomInitRule hf_gpt2{0.02, true, false, 8};  // residual std 0.02 / sqrt(16) = 0.005
  EXPECT_DOUBLE_EQ(hf_gpt2.residual_std(), 0.005);
  const auto expect = [](const TensorInitPlan& plan, TensorInit init, double std, const std::string& what) {
    EXPECT_EQ(plan.init, init) << what;
    EXPECT_DOUBLE_EQ(plan.std, std) << what;
  };
  expect(hf_gpt2.plan(view("h.0.attn.c_attn.weight", {64, 192})), TensorInit::Normal, 0.02, "c_attn");
  expect(hf_gpt2.plan(view("h.0.attn.c_proj.weight", {64, 64})), TensorInit::Normal, 0.005, "attn c_proj");
  expect(hf_gpt2.plan(view("h.0.mlp.c_proj.weight", {256, 64})), TensorInit::Normal, 0.005, "mlp c_proj");
  expect(hf_gpt2.plan(view("h.0.mlp.c_proj.bias", {64})), TensorInit::Zeros, 0, "bias");
  expect(hf_gpt2.plan(view("ln_f.weight", {64})), TensorInit::Ones, 0, "norm scale");
  expect(hf_gpt2.plan(view("h.0.attn.bias", {1, 1, 8, 8})), TensorInit::Copy, 0, "mask buffer (4 dims)");
  expect(hf_gpt2.plan(view("h.0.attn.masked_bias", {})), TensorInit::Copy, 0, "scalar");
  expect(hf_gpt2.plan(view("positions.weight", {8, 4}, io::DType::I64)), TensorInit::Copy, 0, "integers");
  expect(hf_gpt2.plan(view("inv_freq", {8})), TensorInit::Copy, 0, "neither weight nor bias");
  // GGUF names: the residual projections are attn_output / ffn_down; the rope factors are buffers.
  RandomInitRule gguf_gpt2{0.02, true, true, 8};
  expect(gguf_gpt2.plan(view("blk.0.attn_output.weight", {64, 64}, io::DType::Q8_0)), TensorInit::Normal,
         0.005, "quantized attn_output");
  expect(gguf_gpt2.plan(view("blk.0.attn.c_proj.weight", {64, 64})), TensorInit::Normal, 0.02,
         "HF name in GGUF");
  expect(gguf_gpt2.plan(view("rope_freqs.weight", {8})), TensorInit::Copy, 0, "rope_freqs");
  expect(gguf_gpt2.plan(view("rope_factors_long.weight", {8})), TensorInit::Copy, 0, "rope_factors_long");
  expect(gguf_gpt2.plan(view("rope_factors_short.weight", {8})), TensorInit::Copy, 0, "rope_factors_short");
  // Other families have no scaled projections.
  RandomInitRule llama{0.03, false, false, 8};
  expect(llama.plan(view("model.layers.0.mlp.down_proj.weight", {64, 128})), TensorInit::Normal, 0.03,
         "llama");
}

TEST(RandomInitRule, IsReadFromTheModel) {
  const RandomInitRule gpt2 = random_init_rule(test::fixture("lm/gpt2"));
  EXPECT_TRUE(gpt2.gpt2);
  EXPECT_FALSE(gpt2.gguf);
  EXPECT_EQ(gpt2.n_layer, 3);
  EXPECT_DOUBLE_EQ(gpt2.initializer_range, 0.02);  // config.json's
  const RandomInitRule gguf = random_init_rule(test::fixture("lm/llama_gqa/model.gguf"));
  EXPECT_TRUE(gguf.gguf);
  EXPECT_FALSE(gguf.gpt2);
  EXPECT_DOUBLE_EQ(gguf.initializer_range, 0.02);  // GGUF has none: Hugging Face's default
  test::expect_error_containing([] { random_init_rule(test::fixture("lm/gpt2/config.json")); },
                                test::fixture("lm/gpt2/config.json"), "--model", "expected a .gguf file");
}

TEST(RandomInitRule, ABrokenConfigIsNamedNotReplacedByTheDefault) {
  const std::string dir = test::temp_dir("random_init_config");
  for (const fs::directory_entry& entry : fs::directory_iterator(test::fixture("lm/gpt2")))
    fs::copy(entry.path(), fs::path(dir) / entry.path().filename());
  const std::string config = dir + "/config.json";
  test::write_file(config, "{\"initializer_range\": 0.02,");
  test::expect_error_containing([&] { random_init_rule(dir); }, config, "", "not valid JSON");
}

TEST(RandomInitModel, TheCopyIsTheRulesDrawFromTheSeed) {
  const std::string dir = test::temp_dir("random_init_lib");
  const std::string out = dir + "/control";
  const nlohmann::ordered_json report = write_random_init_model(test::fixture("lm/gpt2"), out, 7);
  EXPECT_EQ(report["out_dir"], fs::absolute(out).lexically_normal().string());
  EXPECT_EQ(report["seed"], 7);
  EXPECT_EQ(report["format"], "safetensors");
  EXPECT_DOUBLE_EQ(report["residual_projection_std"].get<double>(), 0.02 / std::sqrt(6.0));
  // 3 blocks x (c_attn, attn c_proj, c_fc, mlp c_proj) + wte + wpe; 3 x 2 + 1 norm scales; 3 x 6 + 1 biases.
  EXPECT_EQ(report["tensors"]["normal"], 14);
  EXPECT_EQ(report["tensors"]["ones"], 7);
  EXPECT_EQ(report["tensors"]["zeros"], 19);
  EXPECT_TRUE(report["tensors"]["copied"].empty());
  nlohmann::ordered_json written = report;
  written.erase("out_dir");
  EXPECT_EQ(test::read_json(out + "/random_init.json").dump(), nlohmann::json::parse(written.dump()).dump());
  EXPECT_TRUE(fs::exists(out + "/config.json"));

  // Replay the rule with our own generator, tensor by tensor in file order.
  const io::SafetensorsCheckpoint source = io::SafetensorsCheckpoint::open(test::fixture("lm/gpt2"));
  const io::SafetensorsCheckpoint copy = io::SafetensorsCheckpoint::open(out);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(7);
  const double residual = 0.02 / std::sqrt(6.0);
  for (const io::TensorView* v : source.tensors()) {
    const torch::Tensor got = read_f32(copy, copy.tensor(v->name));
    const bool two_dims = v->shape.size() == 2;
    if (two_dims) {
      const bool projection =
          v->name.ends_with("attn.c_proj.weight") || v->name.ends_with("mlp.c_proj.weight");
      const double std = projection ? residual : 0.02;
      const torch::Tensor want = torch::empty(v->shape, torch::kFloat32).normal_(0.0, std, generator);
      EXPECT_TRUE(torch::equal(got, want)) << v->name;
      if (got.numel() >= 4096) {  // the draw's std within 5% (relative standard error under 1.2%)
        EXPECT_NEAR(got.std(/*unbiased=*/false).item<double>(), std, 0.05 * std) << v->name;
      }
    } else {
      EXPECT_TRUE(torch::equal(got, torch::full(v->shape, v->name.ends_with(".weight") ? 1.0F : 0.0F)))
          << v->name;
    }
  }
  test::expect_error_containing([&] { write_random_init_model(test::fixture("lm/gpt2"), out, 7); }, out,
                                "--out-dir", "is not empty");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace remedi::lm
