// lm::project (oneDNN sgemm when built with it) against torch::linear: values and gradients into the
// input, and into the weight only when the weight requires grad (--reference-mode's trainable LM).
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

}  // namespace
}  // namespace remedi::lm
