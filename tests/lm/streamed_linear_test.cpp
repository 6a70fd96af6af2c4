// The streamed product of decoding (lm/streamed_linear.h) against a float64 product of the same
// values, each row's bits independent of the other rows, and where it applies.
#include "lm/streamed_linear.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/quantized.h"
#include "util/error.h"

namespace remedi::lm {
namespace {

// x W^T + b in float64 from the same (possibly bf16) values.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  torch::Tensor y = torch::matmul(x.to(torch::kFloat64), w.to(torch::kFloat64).t());
  if (b.defined()) y = y + b.to(torch::kFloat64);
  return y;
}

class StreamedLinear : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_has_avx512_kernel()) GTEST_SKIP() << "no AVX-512 on this CPU: libtorch's product runs instead";
    torch::manual_seed(3);
  }
};

TEST_F(StreamedLinear, MatchesAFloat64ProductAtEveryRowCountAndLength) {
  // K = 576 (SmolLM2's hidden size, 36 vectors of 16) and 37 (two vectors and a scalar tail); row
  // counts across the tiles of 16: 1, 3, 16, 17, 64; with and without bias.
  for (const std::int64_t k : {576, 37}) {
    for (const std::int64_t rows : {1, 3, 16, 17, 64}) {
      for (const bool with_bias : {true, false}) {
        const torch::Tensor x = torch::randn({rows, k});
        const torch::Tensor w = torch::randn({50, k});
        const torch::Tensor b = with_bias ? torch::randn({50}) : torch::Tensor();
        ASSERT_TRUE(streamed_linear_applies(x, w, b));
        const torch::Tensor y = streamed_linear(x, w, b);
        EXPECT_EQ(y.scalar_type(), torch::kFloat32);
        EXPECT_EQ(y.sizes(), torch::IntArrayRef({rows, 50}));
        const double error = (y.to(torch::kFloat64) - reference(x, w, b)).abs().max().item<double>();
        EXPECT_LT(error, 1e-4) << "k " << k << " rows " << rows << " bias " << with_bias;
      }
    }
  }
}

TEST_F(StreamedLinear, Bf16SumsInFloat32AndRoundsOnce) {
  const torch::Tensor x = torch::randn({2, 2, 64}).to(torch::kBFloat16);  // leading dimensions kept
  const torch::Tensor w = torch::randn({40, 64}).to(torch::kBFloat16);
  const torch::Tensor b = torch::randn({40}).to(torch::kBFloat16);
  ASSERT_TRUE(streamed_linear_applies(x, w, b));
  const torch::Tensor y = streamed_linear(x, w, b);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 2, 40}));
  // The exact sum rounded to bf16 once: equal, or one bf16 step away where the float32 sum lies
  // within its rounding of a halfway point.
  const torch::Tensor expected = reference(x.reshape({4, 64}), w, b).to(torch::kBFloat16).view({2, 2, 40});
  const torch::Tensor step = expected.to(torch::kFloat32).abs() * (1.0 / 128);
  EXPECT_TRUE((y.to(torch::kFloat32) - expected.to(torch::kFloat32)).abs().le(step).all().item<bool>());
  EXPECT_GT(y.eq(expected).to(torch::kFloat32).mean().item<double>(), 0.95);
}

TEST_F(StreamedLinear, EachRowHasTheSameBitsWhateverTheOtherRows) {
  const torch::Tensor x = torch::randn({64, 576});
  const torch::Tensor w = torch::randn({96, 576});
  const torch::Tensor all = streamed_linear(x, w, torch::Tensor());
  for (const std::int64_t row : {0, 5, 17, 63}) {
    EXPECT_TRUE(torch::equal(streamed_linear(x[row].unsqueeze(0), w, torch::Tensor())[0], all[row])) << row;
  }
  EXPECT_TRUE(torch::equal(streamed_linear(x.narrow(0, 16, 3), w, torch::Tensor()), all.narrow(0, 16, 3)));
}

TEST_F(StreamedLinear, AppliesOnlyToFewRowsWithoutGradients) {
  const torch::Tensor w = torch::randn({8, 32});
  EXPECT_TRUE(streamed_linear_applies(torch::randn({kStreamedRows, 32}), w, torch::Tensor()));
  EXPECT_FALSE(streamed_linear_applies(torch::randn({kStreamedRows + 1, 32}), w, torch::Tensor()));
  const torch::Tensor w16 = w.to(torch::kBFloat16);
  EXPECT_TRUE(streamed_linear_applies(torch::randn({kStreamedRowsBf16, 32}).to(torch::kBFloat16), w16, {}));
  EXPECT_FALSE(
      streamed_linear_applies(torch::randn({kStreamedRowsBf16 + 1, 32}).to(torch::kBFloat16), w16, {}));
  EXPECT_FALSE(streamed_linear_applies(torch::randn({0, 32}), w, torch::Tensor()));
  EXPECT_FALSE(streamed_linear_applies(torch::randn({1, 31}), w, torch::Tensor()));          // sizes differ
  EXPECT_FALSE(streamed_linear_applies(torch::randn({1, 32}).to(torch::kBFloat16), w, {}));  // dtypes differ
  EXPECT_FALSE(streamed_linear_applies(torch::randn({1, 32}).to(torch::kFloat16), w.to(torch::kFloat16), {}));
  EXPECT_FALSE(streamed_linear_applies(torch::randn({1, 32}), w, torch::randn({7})));
  const torch::Tensor trained = torch::randn({1, 32}).requires_grad_();
  EXPECT_FALSE(streamed_linear_applies(trained, w, torch::Tensor()));
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(streamed_linear_applies(trained, w, torch::Tensor()));
  }
  EXPECT_THROW(streamed_linear(torch::randn({1, 31}), w, torch::Tensor()), Error);
}

}  // namespace
}  // namespace remedi::lm
