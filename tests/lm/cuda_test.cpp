// The runtime on a CUDA device against the transformers fixtures and against itself on the CPU:
// logits (fp32, and bf16 within bf16's precision), an edit, greedy continuation. Every test is
// skipped, saying so, where libtorch sees no CUDA device (this project's machines and CI);
// scripts/gpu-check.sh runs them on a GPU machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "lm/generate.h"
#include "lm/model.h"
#include "lm/threads.h"
#include "reference.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

class CudaFamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device: run scripts/gpu-check.sh on a GPU machine";
    folder_ = test::fixture("lm/" + GetParam());
    ref_ = test::load_reference(folder_ + "/reference.safetensors");
  }

  std::string folder_;
  std::map<std::string, torch::Tensor> ref_;
};

TEST_P(CudaFamilyTest, LogitsAndEditsMatchTransformersInFp32) {
  torch::NoGradGuard no_grad;
  const auto model = CausalLM::load(folder_, {torch::Device(torch::kCUDA), torch::kFloat32, std::nullopt});
  const torch::Tensor& mask = ref_.at("attention_mask_right");
  const ForwardResult plain = model->forward({ref_.at("input_ids_right"), mask}, {});
  EXPECT_LE(test::max_abs_diff_at(plain.logits.cpu(), ref_.at("logits_right"), mask), 1e-4);
  ForwardOptions options;
  const Intervention edit = test::reference_edit(ref_);
  options.interventions.push_back(edit);
  const ForwardResult edited = model->forward({ref_.at("input_ids_right"), mask}, options);
  EXPECT_LE(test::max_abs_diff_at(edited.logits.cpu(), ref_.at("edited_logits_right"), mask), 1e-4);
}

TEST_P(CudaFamilyTest, GreedyContinuationMatchesTransformers) {
  torch::NoGradGuard no_grad;
  const auto model = CausalLM::load(folder_, {torch::Device(torch::kCUDA), torch::kFloat32, std::nullopt});
  GenerateOptions options;
  const torch::Tensor& expected = ref_.at("greedy_ids");
  options.max_new_tokens = expected.size(1);
  const GenerateResult result =
      generate(*model, {ref_.at("input_ids_left"), ref_.at("attention_mask_left")}, options);
  EXPECT_TRUE(torch::equal(result.tokens.cpu(), expected)) << result.tokens << "\nexpected\n" << expected;
}

TEST_P(CudaFamilyTest, Bf16AndFp16StayCloseToFp32) {
  torch::NoGradGuard no_grad;
  const torch::Tensor& mask = ref_.at("attention_mask_right");
  const torch::Tensor expected = ref_.at("logits_right");
  for (const torch::Dtype dtype : {torch::kBFloat16, torch::kFloat16}) {
    const auto model = CausalLM::load(folder_, {torch::Device(torch::kCUDA), dtype, std::nullopt});
    const torch::Tensor logits =
        model->forward({ref_.at("input_ids_right"), mask}, {}).logits.to(torch::kCPU, torch::kFloat32);
    // bf16 keeps 8 bits of mantissa: a relative error of a few 1e-2 on logits of order 1.
    EXPECT_LE(test::max_abs_diff_at(logits, expected, mask),
              0.1 * (1.0 + expected.abs().max().item<double>()))
        << c10::toString(dtype);
  }
}

#if defined(__x86_64__)
// PyPI's x86-64 torch wheel (requirements.txt) is built with CUDA: its backend, linked lazily, must be
// found beside libtorch_cpu.so and load (CUDA libraries and all) even where no device is present.
TEST(CudaBackend, LoadsOnDemandBesideLibtorchCpu) {
  std::string why;
  EXPECT_TRUE(load_cuda_backend(&why)) << why;
  EXPECT_EQ(cuda_description().rfind("compiled in (CUDA runtime ", 0), 0U) << cuda_description();
}
#endif

INSTANTIATE_TEST_SUITE_P(Families, CudaFamilyTest,
                         ::testing::Values("gpt2", "gptj", "neox_parallel", "neox_sequential", "llama_gqa",
                                           "llama_tied", "qwen2", "qwen3", "olmo2", "gemma2", "gemma3",
                                           "phi3"));

}  // namespace
}  // namespace remedi::lm
