// y = x W^T + b for a few rows of x and a dense float32 or bf16 W, by remedi's own AVX-512 loop: what
// decoding does at every step (one row per sequence). Each row of W is read from memory once for
// all rows of x (4 rows of W stay in the L1 cache while every row of x passes them) and the output
// features are split over the intra-op threads. libtorch's product packs W into blocks on every call before
// multiplying, and on the project's AMD machine MKL runs a one-row product single-threaded in its generic
// code path: both cost more than reading W (docs/PERFORMANCE.md, "Issue 20 on the AMD machine"). Internal to
// src/lm (project() in lm/layers.h).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace remedi::lm {

// At most this many rows of x take the streamed product; more take libtorch's. Measured with
// bench_quantized (docs/PERFORMANCE.md): float32 is faster up to 64 rows (MKL packs W on every call);
// bf16 only up to a few, past which libtorch's bf16 product uses the CPU's bf16 dot-product instructions.
inline constexpr std::int64_t kStreamedRows = 64;
inline constexpr std::int64_t kStreamedRowsBf16 = 4;

// Whether streamed_linear computes x W^T + b: a CPU with AVX-512, x (..., K) and W (N, K) of the
// same dtype, float32 or bf16, on the CPU, at most kStreamedRows rows (bf16: kStreamedRowsBf16), and
// nothing that needs a gradient (training differentiates through libtorch's product).
bool streamed_linear_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// x (..., K), W (N, K), b (N) or undefined -> (..., N) in x's dtype. The sums are float32 in a fixed
// order (each row of x alone: the same bits whatever the other rows); bf16 results are rounded once
// from them. Throws remedi::Error when streamed_linear_applies is false.
torch::Tensor streamed_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace remedi::lm
