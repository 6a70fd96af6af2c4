// y = x W^T + b for the LM's projections. On the CPU in float32 this calls oneDNN's sgemm when the
// build has it (REMEDI_HAVE_DNNL): Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and
// falls back to its SSE3 ("Prescott") kernels, about 5x slower than oneDNN's AVX-512 JIT here
// (docs/PERFORMANCE.md). Gradients flow to x, and to W only if W requires grad (remedi freezes the
// LM; only `remedi train --reference-mode` makes its weights trainable, as the original does).
#pragma once

#include <torch/types.h>

namespace remedi::lm {

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// Whether project() uses oneDNN for float32 CPU tensors in this build.
bool project_uses_dnnl();

// a @ b for tensors (..., m, k) and (..., k, n) with the same batch sizes (no broadcasting), as
// torch::matmul computes it. Without gradients, on float32 CPU tensors in a build with oneDNN, one
// sgemm per matrix, the matrices spread over the threads: attention multiplies many small matrices
// (batch x kv heads per layer and decoding step), and libtorch 1.13 loops over them with a select
// and a checked addmm each, which cost more than the arithmetic. Strided views (a narrowed KV cache,
// a transposed key matrix) are read in place when each matrix has unit stride along one axis.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace remedi::lm
