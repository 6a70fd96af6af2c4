// The default model (SmolLM2-135M-Instruct, GGUF Q4_1) against HF transformers, which loads the same
// GGUF by dequantizing it (tests/fixtures/lm/smollm2/reference.safetensors).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "lm/generate.h"
#include "lm/model.h"
#include "lm/quantized.h"
#include "reference.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

class SmolLM2Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test::default_model_path();
    if (path.empty()) return;
    model_ = CausalLM::load(path).release();
    ref_ = new std::map<std::string, torch::Tensor>(
        test::load_reference(test::fixture("lm/smollm2/reference.safetensors")));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete ref_;
    model_ = nullptr;
    ref_ = nullptr;
  }
  void SetUp() override {
    if (model_ == nullptr) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  }
  static std::int64_t prompt_count() {
    std::int64_t k = 0;
    while (ref_->count("prompt_" + std::to_string(k) + "_ids") != 0) ++k;
    return k;
  }
  static torch::Tensor ids(std::int64_t k) {
    return ref_->at("prompt_" + std::to_string(k) + "_ids").unsqueeze(0);
  }

  static CausalLM* model_;
  static std::map<std::string, torch::Tensor>* ref_;
};

CausalLM* SmolLM2Test::model_ = nullptr;
std::map<std::string, torch::Tensor>* SmolLM2Test::ref_ = nullptr;

TEST_F(SmolLM2Test, ConfigIsSmolLM2) {
  EXPECT_EQ(model_->config().family, Family::Llama);
  EXPECT_EQ(model_->config().n_layer, 30);
  EXPECT_EQ(model_->config().hidden_size, 576);
  EXPECT_EQ(model_->config().n_kv_head, 3);
}

TEST_F(SmolLM2Test, TopLogitsAndHiddenStatesMatchTransformers) {
  torch::NoGradGuard no_grad;
  ASSERT_GE(prompt_count(), 5);
  for (std::int64_t k = 0; k < prompt_count(); ++k) {
    SCOPED_TRACE("prompt " + std::to_string(k));
    const std::string key = "prompt_" + std::to_string(k) + "_";
    ForwardOptions options;
    options.logits = LogitsAt::Last;
    options.capture_layers = {0, 14, 29};
    const ForwardResult result = model_->forward({ids(k), torch::Tensor()}, options);
    const torch::Tensor top_ids = ref_->at(key + "top50_ids");
    const torch::Tensor ours = result.logits[0].index_select(0, top_ids);
    EXPECT_LE((ours - ref_->at(key + "top50_logits")).abs().max().item<double>(), 1e-3);
    EXPECT_EQ(result.logits[0].argmax().item<std::int64_t>(), top_ids[0].item<std::int64_t>());
    for (const std::int64_t layer : {0, 14, 29}) {
      const torch::Tensor expected = ref_->at(key + "block_output_" + std::to_string(layer));
      const torch::Tensor got = result.hidden.at(layer)[0][-1];
      const double scale = std::max(1.0, expected.abs().max().item<double>());
      EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4 * scale) << "layer " << layer;
    }
  }
}

TEST_F(SmolLM2Test, GreedyContinuationsMatchTransformers) {
  torch::NoGradGuard no_grad;
  for (std::int64_t k = 0; k < prompt_count(); ++k) {
    SCOPED_TRACE("prompt " + std::to_string(k));
    const torch::Tensor expected = ref_->at("greedy_" + std::to_string(k));
    GenerateOptions options;
    options.max_new_tokens = expected.size(0);
    const GenerateResult result = generate(*model_, {ids(k), torch::Tensor()}, options);
    EXPECT_TRUE(torch::equal(result.tokens[0], expected)) << result.tokens[0] << "\nexpected\n" << expected;
  }
}

// `--dtype q4_1` keeps the file's blocks: every matrix dequantizes to the floats of the dense load,
// so the model is the one transformers computes with (up to summation order).
TEST_F(SmolLM2Test, Q4_1IsTheFilesModel) {
  torch::NoGradGuard no_grad;
  LoadOptions options;
  options.quantized = QuantFormat::Q4_1;
  const auto quantized = CausalLM::load(model_->path(), options);
  for (std::size_t l = 0; l < quantized->weights().layers.size(); ++l) {
    const LayerWeights& q = quantized->weights().layers[l];
    const LayerWeights& dense = model_->weights().layers[l];
    EXPECT_TRUE(torch::equal(dequantize_weight(q.qkv_weight), dense.qkv_weight)) << "layer " << l;
    EXPECT_TRUE(torch::equal(dequantize_weight(q.out_weight), dense.out_weight)) << "layer " << l;
    EXPECT_TRUE(torch::equal(dequantize_weight(q.gate_up_weight), dense.gate_up_weight)) << "layer " << l;
    EXPECT_TRUE(torch::equal(dequantize_weight(q.down_weight), dense.down_weight)) << "layer " << l;
  }
  // The tied head: the file's Q8_0 embedding.
  EXPECT_EQ(quant_format_of(quantized->weights().lm_head_weight), QuantFormat::Q8_0);
  EXPECT_TRUE(torch::equal(dequantize_weight(quantized->weights().lm_head_weight),
                           model_->weights().token_embedding));
  for (std::int64_t k = 0; k < prompt_count(); ++k) {
    SCOPED_TRACE("prompt " + std::to_string(k));
    const std::string key = "prompt_" + std::to_string(k) + "_";
    ForwardOptions last;
    last.logits = LogitsAt::Last;
    const torch::Tensor logits = quantized->forward({ids(k), torch::Tensor()}, last).logits[0];
    const torch::Tensor top_ids = ref_->at(key + "top50_ids");
    EXPECT_LE((logits.index_select(0, top_ids) - ref_->at(key + "top50_logits")).abs().max().item<double>(),
              1e-3);
    const torch::Tensor expected = ref_->at("greedy_" + std::to_string(k));
    GenerateOptions greedy;
    greedy.max_new_tokens = expected.size(0);
    EXPECT_TRUE(torch::equal(generate(*quantized, {ids(k), torch::Tensor()}, greedy).tokens[0], expected));
  }
}

}  // namespace
}  // namespace remedi::lm
