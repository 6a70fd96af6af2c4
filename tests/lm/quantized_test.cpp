// Weight-only quantization (lm/quantized.h): the block codes against hand-computed blocks, the
// round trip a GGUF file's weights take (quantizing dequantized blocks gives the same floats back),
// and both kernels against libtorch's product with the dequantized matrix.
#include "lm/quantized.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <string>
#include <vector>

#include "lm/model.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi::lm {
namespace {

constexpr QuantFormat kFormats[] = {QuantFormat::Q8_0, QuantFormat::Q4_0, QuantFormat::Q4_1};

float block_float(const torch::Tensor& q, std::int64_t row, std::int64_t block, std::int64_t offset) {
  float value = 0;
  std::memcpy(&value, q[row][block].data_ptr<std::uint8_t>() + offset, sizeof value);
  return value;
}

std::vector<QuantKernel> kernels() {
  std::vector<QuantKernel> list{QuantKernel::Portable};
  if (cpu_has_avx512_kernel()) list.push_back(QuantKernel::Avx512);
  return list;
}

TEST(Quantized, FormatIsReadFromTheBlockSize) {
  const torch::Tensor w = torch::randn({3, 64});
  EXPECT_EQ(quantize_weight(w, QuantFormat::Q8_0).sizes(), torch::IntArrayRef({3, 2, 36}));
  EXPECT_EQ(quantize_weight(w, QuantFormat::Q4_0).sizes(), torch::IntArrayRef({3, 2, 20}));
  EXPECT_EQ(quantize_weight(w, QuantFormat::Q4_1).sizes(), torch::IntArrayRef({3, 2, 24}));
  for (const QuantFormat f : kFormats) EXPECT_EQ(quant_format_of(quantize_weight(w, f)), f);
  EXPECT_FALSE(quant_format_of(w).has_value());
  EXPECT_FALSE(quant_format_of(torch::zeros({3, 2, 25}, torch::kUInt8)).has_value());
  EXPECT_THROW(quantize_weight(torch::randn({3, 48}), QuantFormat::Q8_0), Error);
}

// Block 0 holds 0, 1, ..., 31 (minus 16 for the signed formats): the codes follow by hand.
TEST(Quantized, CodesOfAKnownBlock) {
  const torch::Tensor ramp = torch::arange(32, torch::kFloat32).unsqueeze(0);
  // Q4_1: min 0, max 31, d = 31/15 (stored as float16: 2.066406), code j = round(j * 15 / 31).
  const torch::Tensor q41 = quantize_weight(ramp, QuantFormat::Q4_1);
  EXPECT_FLOAT_EQ(block_float(q41, 0, 0, 0), 2.06640625F);
  EXPECT_FLOAT_EQ(block_float(q41, 0, 0, 4), 0.0F);
  const std::uint8_t* codes = q41[0][0].data_ptr<std::uint8_t>() + 8;
  EXPECT_EQ(codes[0] & 0x0F, 0);  // value 0
  EXPECT_EQ(codes[2] & 0x0F, 1);  // value 2: 0.97 -> 1
  EXPECT_EQ(codes[15] >> 4, 15);  // value 31
  EXPECT_EQ(codes[0] >> 4, 8);    // value 16: 7.74 -> 8
  // Q8_0 of -16..15: largest magnitude 16, d = 16/127, value -16 -> -127, value 15 -> round(119.06) = 119.
  const torch::Tensor q8 = quantize_weight(ramp - 16, QuantFormat::Q8_0);
  const auto* q8_codes = reinterpret_cast<const std::int8_t*>(q8[0][0].data_ptr<std::uint8_t>() + 4);
  EXPECT_EQ(q8_codes[0], -127);
  EXPECT_EQ(q8_codes[31], 119);
  EXPECT_EQ(q8_codes[16], 0);
  // Q4_0 of -16..15: the extreme value is -16, d = 2, codes (v / 2 + 8.5) truncated: -16 -> 0, 15 -> 15.
  const torch::Tensor q40 = quantize_weight(ramp - 16, QuantFormat::Q4_0);
  EXPECT_FLOAT_EQ(block_float(q40, 0, 0, 0), 2.0F);
  const std::uint8_t* q40_codes = q40[0][0].data_ptr<std::uint8_t>() + 4;
  EXPECT_EQ(q40_codes[0] & 0x0F, 0);
  EXPECT_EQ(q40_codes[15] >> 4, 15);
  EXPECT_EQ(q40_codes[1] & 0x0F, 1);  // -15 / 2 + 8.5 = 1
}

TEST(Quantized, RoundTripErrorIsWithinAStep) {
  torch::manual_seed(1);
  const torch::Tensor w = torch::randn({16, 128});
  const torch::Tensor blocks = w.view({16, 4, 32});
  const torch::Tensor magnitude = blocks.abs().amax(-1, true);
  const torch::Tensor span = blocks.amax(-1, true) - blocks.amin(-1, true);
  // Q4_0 clamps the side opposite the extreme value at +7 steps: up to a whole step there.
  const std::map<QuantFormat, torch::Tensor> half_step{{QuantFormat::Q8_0, magnitude / 127 / 2},
                                                       {QuantFormat::Q4_0, magnitude / 8},
                                                       {QuantFormat::Q4_1, span / 15 / 2}};
  for (const QuantFormat f : kFormats) {
    SCOPED_TRACE(quant_format_name(f));
    const torch::Tensor error = (dequantize_weight(quantize_weight(w, f)) - w).abs().view({16, 4, 32});
    // half a step, plus what the float16 scale adds (relative 2^-11 of the block's magnitude times 16)
    const torch::Tensor bound = half_step.at(f) * 1.01 + magnitude * 16 / 2048;
    EXPECT_TRUE((error <= bound).all().item<bool>());
  }
}

// A GGUF file's weights are dequantized blocks; quantizing them again must give the same floats, or
// `--dtype q4_1` on a Q4_1 file would not be the file's model.
TEST(Quantized, DequantizedBlocksComeBackExactly) {
  torch::manual_seed(2);
  for (const QuantFormat f : kFormats) {
    SCOPED_TRACE(quant_format_name(f));
    const torch::Tensor stored = dequantize_weight(quantize_weight(torch::randn({64, 256}) * 0.05 - 0.01, f));
    EXPECT_TRUE(torch::equal(dequantize_weight(quantize_weight(stored, f)), stored));
  }
}

TEST(Quantized, KernelsMatchTheDenseProduct) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({70, 96}) * 0.1;
  const torch::Tensor bias = torch::randn({70});
  for (const QuantFormat f : kFormats) {
    const torch::Tensor q = quantize_weight(w, f);
    const torch::Tensor dense = dequantize_weight(q);
    for (const QuantKernel kernel : kernels()) {
      for (const std::int64_t rows : {1, 2, 3, 4, 5, 8, 9, 33, 40}) {
        SCOPED_TRACE(quant_format_name(f) + " kernel " + std::to_string(static_cast<int>(kernel)) + " rows " +
                     std::to_string(rows));
        const torch::Tensor x = torch::randn({rows, 96});
        const torch::Tensor expected = torch::linear(x, dense, bias);
        const torch::Tensor got = quantized_linear(x, q, bias, kernel);
        ASSERT_EQ(got.sizes(), expected.sizes());
        EXPECT_LE((got - expected).abs().max().item<double>(),
                  1e-5 * std::max(1.0, expected.abs().max().item<double>()));
      }
    }
  }
  // (B, T, K) inputs keep their leading shape; no bias.
  const torch::Tensor q = quantize_weight(w, QuantFormat::Q4_1);
  const torch::Tensor x = torch::randn({2, 3, 96});
  const torch::Tensor got = quantized_linear(x, q, torch::Tensor());
  EXPECT_EQ(got.sizes(), torch::IntArrayRef({2, 3, 70}));
  EXPECT_LE((got - torch::matmul(x, dequantize_weight(q).t())).abs().max().item<double>(), 1e-5);
}

TEST(Quantized, RefusesGradientsAndWrongSizes) {
  const torch::Tensor q = quantize_weight(torch::randn({8, 64}), QuantFormat::Q8_0);
  EXPECT_THROW(quantized_linear(torch::randn({1, 64}, torch::requires_grad()), q, torch::Tensor()), Error);
  EXPECT_THROW(quantized_linear(torch::randn({1, 32}), q, torch::Tensor()), Error);
  EXPECT_THROW(quantized_linear(torch::randn({1, 64}), torch::randn({8, 64}), torch::Tensor()), Error);
}

TEST(Quantized, LoadOptionsParseTheFormats) {
  EXPECT_EQ(load_options("cpu", "q4").quantized, QuantFormat::Q4_1);
  EXPECT_EQ(load_options("cpu", "q8_0").quantized, QuantFormat::Q8_0);
  EXPECT_EQ(load_options("cpu", "q4_0").dtype, torch::kFloat32);
  EXPECT_FALSE(load_options("cpu", "bf16").quantized.has_value());
  EXPECT_THROW(load_options("cpu", "q5_0"), Error);
  LoadOptions bf16_q4;
  bf16_q4.dtype = torch::kBFloat16;
  bf16_q4.quantized = QuantFormat::Q4_1;
  EXPECT_THROW(CausalLM::load(test::fixture("lm/llama_gqa"), bf16_q4), Error);
}

// The Llama fixture (hidden 64, inner 128: every matrix quantizable) loaded as q8_0 gives the logits
// of its dense weights quantized the same way.
TEST(Quantized, QuantizedModelIsTheDenseModelOfItsBlocks) {
  torch::NoGradGuard no_grad;
  const std::string path = test::fixture("lm/llama_gqa");
  LoadOptions options;
  options.quantized = QuantFormat::Q8_0;
  const auto quantized = CausalLM::load(path, options);
  ModelWeights weights = CausalLM::load(path)->weights();
  for (LayerWeights& layer : weights.layers) {
    for (torch::Tensor* t :
         {&layer.qkv_weight, &layer.out_weight, &layer.gate_up_weight, &layer.down_weight}) {
      *t = dequantize_weight(quantize_weight(*t, QuantFormat::Q8_0));
    }
  }
  weights.lm_head_weight = dequantize_weight(quantize_weight(weights.lm_head_weight, QuantFormat::Q8_0));
  const CausalLM dense(quantized->config(), weights, LoadOptions{}, path);
  const torch::Tensor ids = torch::tensor({{1, 5, 9, 2, 7, 3}}, torch::kInt64);
  const torch::Tensor expected = dense.forward({ids, torch::Tensor()}).logits;
  const torch::Tensor got = quantized->forward({ids, torch::Tensor()}).logits;
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(is_quantized(quantized->weights().lm_head_weight));
  EXPECT_FALSE(is_quantized(quantized->weights().token_embedding));
}

}  // namespace
}  // namespace remedi::lm
