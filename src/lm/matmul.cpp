#include "lm/matmul.h"

#include <torch/torch.h>

#ifdef REMEDI_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#include "util/error.h"

namespace remedi::lm {

#ifdef REMEDI_HAVE_DNNL
namespace {

// Row-major C (m, n) = A (m, k) * op(B) with op(B) = B^T (B is (n, k)) or B (B is (k, n)).
void sgemm(bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
           float* c) {
  const dnnl_dim_t ldb = transpose_b ? k : n;
  const dnnl_status_t status =
      dnnl_sgemm('N', transpose_b ? 'T' : 'N', m, n, k, 1.0F, a, k, b, ldb, 0.0F, c, n);
  if (status != dnnl_success) {
    throw Error("<oneDNN>", "sgemm", "failed with status " + std::to_string(static_cast<int>(status)));
  }
}

// x (..., in) -> (..., out) with W (out, in); backward gives dx = dy W.
struct DnnlProjection : public torch::autograd::Function<DnnlProjection> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight) {
    ctx->saved_data["weight"] = weight;
    const torch::Tensor input = x.contiguous();
    const std::int64_t in = weight.size(1);
    const std::int64_t out = weight.size(0);
    const std::int64_t rows = input.numel() / in;
    std::vector<std::int64_t> shape = input.sizes().vec();
    shape.back() = out;
    torch::Tensor y = torch::empty(shape, input.options());
    if (rows > 0)
      sgemm(true, rows, out, in, input.data_ptr<float>(), weight.data_ptr<float>(), y.data_ptr<float>());
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
      sgemm(false, rows, in, out, grad_y.data_ptr<float>(), weight.data_ptr<float>(),
            grad_x.data_ptr<float>());
    }
    return {grad_x, torch::Tensor()};
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
      weight.is_contiguous() && !weight.requires_grad()) {
    torch::Tensor y = DnnlProjection::apply(x, weight);
    return bias.defined() ? y + bias : y;
  }
#endif
  return torch::linear(x, weight, bias.defined() ? bias : torch::Tensor());
}

}  // namespace remedi::lm
