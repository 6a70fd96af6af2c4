// y = x W^T + b for the LM's projections. On the CPU in float32 this calls the sgemm of the BLAS
// inside libtorch (MKL in PyPI's x86-64 wheel) directly, with a hand-written backward, which skips
// ATen's dispatch and autograd bookkeeping per call (docs/PERFORMANCE.md has both measured).
// Gradients flow to x, and to W only if W requires grad (remedi freezes the LM; only
// `remedi train --reference-mode` makes its weights trainable, as the original does).
#pragma once

#include <torch/types.h>

namespace remedi::lm {

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// Whether project() and batched_matmul() call the BLAS directly for float32 CPU tensors: libtorch
// exports a BLAS sgemm, and the environment variable REMEDI_MATMUL=torch does not turn it off.
bool project_uses_blas();

// a @ b for tensors (..., m, k) and (..., k, n) with the same batch sizes (no broadcasting), as
// torch::matmul computes it. Without gradients, on float32 CPU tensors when project_uses_blas(), one
// sgemm per matrix, the matrices spread over the threads: attention multiplies many small matrices
// (batch x kv heads per layer and decoding step), where libtorch's per-matrix dispatch costs more
// than the arithmetic. Strided views (a narrowed KV cache, a transposed key matrix) are read in place
// when each matrix has unit stride along one axis.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace remedi::lm
