#include "lm/matmul.h"

#include <torch/torch.h>

#ifdef REMEDI_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "util/error.h"

namespace remedi::lm {

#ifdef REMEDI_HAVE_DNNL
namespace {

// Row-major C (m, n) = op(A) * op(B): op(A) = A (m, k) or A^T (A is (k, m)); op(B) = B^T (B is
// (n, k)) or B (B is (k, n)).
void sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
           const float* b, float* c) {
  const dnnl_dim_t lda = transpose_a ? m : k;
  const dnnl_dim_t ldb = transpose_b ? k : n;
  const dnnl_status_t status =
      dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, 1.0F, a, lda, b, ldb, 0.0F, c, n);
  if (status != dnnl_success) {
    throw Error("<oneDNN>", "sgemm", "failed with status " + std::to_string(static_cast<int>(status)));
  }
}

// x (..., in) -> (..., out) with W (out, in); backward gives dx = dy W and, when W requires grad
// (--reference-mode reproduces the original's trainable LM), dW = dy^T x.
struct DnnlProjection : public torch::autograd::Function<DnnlProjection> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight) {
    const torch::Tensor input = x.contiguous();
    ctx->saved_data["weight"] = weight;
    if (weight.requires_grad()) ctx->saved_data["input"] = input;
    const std::int64_t in = weight.size(1);
    const std::int64_t out = weight.size(0);
    const std::int64_t rows = input.numel() / in;
    std::vector<std::int64_t> shape = input.sizes().vec();
    shape.back() = out;
    torch::Tensor y = torch::empty(shape, input.options());
    if (rows > 0)
      sgemm(false, true, rows, out, in, input.data_ptr<float>(), weight.data_ptr<float>(),
            y.data_ptr<float>());
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor weight = ctx->saved_data["weight"].toTensor();
    const torch::Tensor grad_y = grads[0].contiguous();
    const std::int64_t in = weight.size(1);
    const std::int64_t out = weight.size(0);
    const std::int64_t rows = grad_y.numel() / out;
    std::vector<std::int64_t> shape = grad_y.sizes().vec();
    shape.back() = in;
    torch::Tensor grad_x = torch::empty(shape, grad_y.options());
    if (rows > 0) {
      sgemm(false, false, rows, in, out, grad_y.data_ptr<float>(), weight.data_ptr<float>(),
            grad_x.data_ptr<float>());
    }
    torch::Tensor grad_w;
    if (ctx->saved_data.count("input") != 0) {
      const torch::Tensor input = ctx->saved_data["input"].toTensor();
      if (rows > 0) {
        grad_w = torch::empty({out, in}, grad_y.options());
        sgemm(true, false, out, in, rows, grad_y.data_ptr<float>(), input.data_ptr<float>(),
              grad_w.data_ptr<float>());
      } else {
        grad_w = torch::zeros({out, in}, grad_y.options());
      }
    }
    return {grad_x, grad_w};
  }
};

}  // namespace
#endif

bool project_uses_dnnl() {
#ifdef REMEDI_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
#ifdef REMEDI_HAVE_DNNL
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && weight.scalar_type() == torch::kFloat32 &&
      weight.is_contiguous()) {
    torch::Tensor y = DnnlProjection::apply(x, weight);
    return bias.defined() ? y + bias : y;
  }
#endif
  return torch::linear(x, weight, bias.defined() ? bias : torch::Tensor());
}

}  // namespace remedi::lm
