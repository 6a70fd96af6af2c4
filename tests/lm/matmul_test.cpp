// lm::project and lm::batched_matmul (the BLAS sgemm called directly when project_uses_blas()) against
// torch::linear / torch::matmul: values, and gradients into the input, and into the weight only when
// the weight requires grad (--reference-mode's trainable LM).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lm/matmul.h"

namespace remedi::lm {
namespace {

struct Grads {
  torch::Tensor y, dx, dw, db;
};

Grads run(bool use_project, bool weight_grad) {
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({5, 3, 8}).requires_grad_(true);
  const torch::Tensor w = torch::randn({6, 8}).requires_grad_(weight_grad);
  const torch::Tensor b = torch::randn({6}).requires_grad_(weight_grad);
  const torch::Tensor r = torch::randn({5, 3, 6});
  const torch::Tensor y = use_project ? project(x, w, b) : torch::linear(x, w, b);
  (y * r).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(Project, MatchesLinearInValueAndGradients) {
  for (const bool weight_grad : {false, true}) {
    const Grads ours = run(true, weight_grad);
    const Grads reference = run(false, weight_grad);
    EXPECT_TRUE(torch::allclose(ours.y, reference.y, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(ours.dx, reference.dx, 1e-5, 1e-5));
    ASSERT_EQ(ours.dw.defined(), weight_grad);
    if (weight_grad) {
      EXPECT_TRUE(torch::allclose(ours.dw, reference.dw, 1e-5, 1e-5)) << (ours.dw - reference.dw).abs().max();
      EXPECT_TRUE(torch::allclose(ours.db, reference.db, 1e-5, 1e-5));
    }
  }
}

#if defined(__x86_64__)
// PyPI's x86-64 torch wheel (requirements.txt) links MKL and exports its sgemm: the fast path must
// not silently disappear with a new pin.
TEST(Project, UsesTheWheelsBlas) { EXPECT_TRUE(project_uses_blas()); }
#endif

// Row-major products through the column-major BLAS: plain, transposed and narrowed (strided) operands,
// as attention passes them (q k^T with k a transposed view, a KV cache narrowed to the filled length).
TEST(BatchedMatmul, MatchesMatmulOnPlainTransposedAndStridedViews) {
  torch::manual_seed(7);
  const torch::NoGradGuard no_grad;
  const torch::Tensor a = torch::randn({2, 3, 4, 5});
  const torch::Tensor b = torch::randn({2, 3, 5, 6});
  EXPECT_TRUE(torch::allclose(batched_matmul(a, b), torch::matmul(a, b), 1e-5, 1e-5));
  const torch::Tensor keys = torch::randn({2, 3, 6, 5});  // (batch, heads, positions, head dim)
  const torch::Tensor keys_t = keys.transpose(-1, -2);    // (.., 5, 6), unit stride along rows
  EXPECT_TRUE(torch::allclose(batched_matmul(a, keys_t), torch::matmul(a, keys_t), 1e-5, 1e-5));
  const torch::Tensor cache = torch::randn({2, 3, 9, 5});
  const torch::Tensor filled = cache.narrow(2, 0, 6);  // leading dimension 5, 6 of 9 rows
  const torch::Tensor probs = torch::rand({2, 3, 4, 6});
  EXPECT_TRUE(torch::allclose(batched_matmul(probs, filled), torch::matmul(probs, filled), 1e-5, 1e-5));
  const torch::Tensor filled_t = filled.transpose(-1, -2);
  EXPECT_TRUE(torch::allclose(batched_matmul(a, filled_t), torch::matmul(a, filled_t), 1e-5, 1e-5));
  const torch::Tensor row = torch::randn({2, 3, 1, 5});  // one decoding step
  EXPECT_TRUE(torch::allclose(batched_matmul(row, filled_t), torch::matmul(row, filled_t), 1e-5, 1e-5));
}

}  // namespace
}  // namespace remedi::lm
