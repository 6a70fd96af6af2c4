#include "lm/matmul.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

// The Fortran BLAS sgemm (column-major) of the BLAS inside libtorch: the PyPI wheel links MKL
// statically and exports its BLAS entry points. Weak, so that a libtorch without it still links;
// project() then uses libtorch's own kernels.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc) __attribute__((weak));

namespace remedi::lm {

namespace {

// Row-major C (m, n) = op(A) op(B) with leading dimensions lda, ldb (ldc = n); op(A) = A (m, k), or
// A^T when `transpose_a` (A is (k, m)); op(B) likewise. A row-major matrix is its transpose in
// column-major order, so this is the column-major product C^T = op(B)^T op(A)^T: the same flags,
// the operands swapped.
void sgemm_rows(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float* c) {
  const auto narrow = [](std::int64_t v) {
    if (v > std::numeric_limits<int>::max())
      throw Error("<BLAS>", "sgemm", "dimension too large for 32-bit BLAS");
    return static_cast<int>(v);
  };
  const char ta = transpose_a ? 'T' : 'N';
  const char tb = transpose_b ? 'T' : 'N';
  const int mm = narrow(m);
  const int nn = narrow(n);
  const int kk = narrow(k);
  const int la = narrow(std::max<std::int64_t>(lda, 1));
  const int lb = narrow(std::max<std::int64_t>(ldb, 1));
  const int lc = std::max(nn, 1);
  const float one = 1.0F;
  const float zero = 0.0F;
  sgemm_(&tb, &ta, &nn, &mm, &kk, &one, b, &lb, a, &la, &zero, c, &lc);
}

void sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
           const float* b, float* c) {
  sgemm_rows(transpose_a, transpose_b, m, n, k, a, transpose_a ? m : k, b, transpose_b ? k : n, c);
}

// x (..., in) -> (..., out) with W (out, in); backward gives dx = dy W and, when W requires grad
// (--reference-mode reproduces the original's trainable LM), dW = dy^T x.
struct BlasProjection : public torch::autograd::Function<BlasProjection> {
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

// How a (rows, cols) matrix view lies in memory for sgemm: row-major with leading dimension `ld`,
// or its transpose row-major (`transposed`). Nothing when neither axis has unit stride.
struct MatrixLayout {
  bool transposed = false;
  std::int64_t ld = 0;
};

std::optional<MatrixLayout> matrix_layout(const torch::Tensor& t) {
  const std::int64_t rows = t.size(-2);
  const std::int64_t cols = t.size(-1);
  if (t.stride(-1) == 1 || cols == 1) {
    const std::int64_t ld = rows == 1 ? cols : t.stride(-2);
    if (ld >= std::max<std::int64_t>(1, cols)) return MatrixLayout{false, ld};
  }
  if (t.stride(-2) == 1 || rows == 1) {
    const std::int64_t ld = cols == 1 ? rows : t.stride(-1);
    if (ld >= std::max<std::int64_t>(1, rows)) return MatrixLayout{true, ld};
  }
  return std::nullopt;
}

// Element offsets of each matrix of `t` (batch dimensions in row-major order).
std::vector<std::int64_t> matrix_offsets(const torch::Tensor& t) {
  std::vector<std::int64_t> offsets{0};
  for (std::int64_t d = 0; d + 2 < t.dim(); ++d) {
    std::vector<std::int64_t> next;
    next.reserve(offsets.size() * static_cast<std::size_t>(t.size(d)));
    for (const std::int64_t base : offsets)
      for (std::int64_t i = 0; i < t.size(d); ++i) next.push_back(base + i * t.stride(d));
    offsets = std::move(next);
  }
  return offsets;
}

}  // namespace

bool project_uses_blas() {
  // REMEDI_MATMUL=torch selects libtorch's own kernels (to compare the two).
  static const bool enabled = [] {
    const char* env = std::getenv("REMEDI_MATMUL");
    return sgemm_ != nullptr && (env == nullptr || std::string(env) != "torch");
  }();
  return enabled;
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  const bool needs_grad = torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (!needs_grad && project_uses_blas() && a.device().is_cpu() && b.device().is_cpu() &&
      a.scalar_type() == torch::kFloat32 && b.scalar_type() == torch::kFloat32 && a.dim() >= 3 &&
      a.dim() == b.dim() && a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2) &&
      a.size(-1) == b.size(-2)) {
    const torch::Tensor x = matrix_layout(a) ? a : a.contiguous();
    const torch::Tensor y = matrix_layout(b) ? b : b.contiguous();
    const MatrixLayout la = *matrix_layout(x);
    const MatrixLayout lb = *matrix_layout(y);
    const std::int64_t m = x.size(-2);
    const std::int64_t k = x.size(-1);
    const std::int64_t n = y.size(-1);
    std::vector<std::int64_t> shape = x.sizes().vec();
    shape.back() = n;
    torch::Tensor c = torch::empty(shape, x.options());
    const std::vector<std::int64_t> offsets_a = matrix_offsets(x);
    const std::vector<std::int64_t> offsets_b = matrix_offsets(y);
    const float* pa = x.data_ptr<float>();
    const float* pb = y.data_ptr<float>();
    float* pc = c.data_ptr<float>();
    if (m > 0 && n > 0) {
      // Inside the parallel region MKL's sgemm runs on the calling thread (no nested threads).
      at::parallel_for(0, static_cast<std::int64_t>(offsets_a.size()), 1,
                       [&](std::int64_t begin, std::int64_t end) {
                         for (std::int64_t i = begin; i < end; ++i) {
                           const auto at = static_cast<std::size_t>(i);
                           float* out = pc + i * m * n;
                           if (k == 0) {
                             std::fill(out, out + m * n, 0.0F);
                             continue;
                           }
                           sgemm_rows(la.transposed, lb.transposed, m, n, k, pa + offsets_a[at], la.ld,
                                      pb + offsets_b[at], lb.ld, out);
                         }
                       });
    }
    return c;
  }
  return torch::matmul(a, b);
}

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (project_uses_blas() && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
      weight.scalar_type() == torch::kFloat32 && weight.is_contiguous()) {
    torch::Tensor y = BlasProjection::apply(x, weight);
    return bias.defined() ? y + bias : y;
  }
  return torch::linear(x, weight, bias.defined() ? bias : torch::Tensor());
}

}  // namespace remedi::lm
