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

}  // namespace remedi::lm
