#include "lm/streamed_linear.h"

// GCC 12's AVX-512 headers leave a vector deliberately undefined in some intrinsics, which
// -Wuninitialized reports once they are inlined (as in lm/quantized.cpp): silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "lm/quantized.h"
#include "util/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace remedi::lm {

namespace {

#if defined(__x86_64__)
// A block of the product is kRows rows of x by kCols rows of W: kRows x kCols accumulators in
// registers, each step loading kRows + kCols vectors for kRows * kCols FMAs. The kCols rows of W stay
// in the L1 cache while every row of x passes them.
constexpr int kRows = 4;
constexpr int kCols = 4;
constexpr std::int64_t kGrain = 16;  // output features per thread at least

float widen(float w) { return w; }
float widen(std::uint16_t bf16) {
  const std::uint32_t bits = std::uint32_t{bf16} << 16;
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

#define REMEDI_AVX512 __attribute__((target("avx512f")))

// 16 consecutive weights as float32 (bf16 is the top half of a float32: widening is a shift).
REMEDI_AVX512 inline __m512 load16(const float* w) { return _mm512_loadu_ps(w); }
REMEDI_AVX512 inline __m512 load16(const std::uint16_t* w) {
  const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

// y[r * ldy + c] = x[r] . w[c] + bias[c] for R rows of x (length k, stride k) and C rows of w: one
// accumulator per (r, c) summing over k in order, so that an output's bits do not depend on the
// block it was computed in.
template <typename W, int R, int C>
REMEDI_AVX512 void block(const W* w, std::int64_t k, const float* x, const float* bias, float* y,
                         std::int64_t ldy) {
  __m512 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  std::int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    __m512 weights[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) weights[c] = load16(w + c * k + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 xs = _mm512_loadu_ps(x + r * k + i);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(weights[c], xs, acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float sum = _mm512_reduce_add_ps(acc[r][c]);
      for (std::int64_t j = i; j < k; ++j) sum += widen(w[c * k + j]) * x[r * k + j];
      y[r * ldy + c] = sum + (bias != nullptr ? bias[c] : 0.0F);
    }
  }
}

template <typename W>
using BlockFn = void (*)(const W*, std::int64_t, const float*, const float*, float*, std::int64_t);

// block<W, R, C> for R, C in 1 ... 4, at [(R - 1) * kCols + C - 1].
template <typename W, std::size_t... I>
constexpr std::array<BlockFn<W>, sizeof...(I)> block_table(std::index_sequence<I...> /*blocks*/) {
  return {&block<W, static_cast<int>(I) / kCols + 1, static_cast<int>(I) % kCols + 1>...};
}

template <typename W>
void stream(const W* w, std::int64_t n, std::int64_t k, const float* x, std::int64_t rows, const float* bias,
            float* y) {
  static constexpr auto kBlocks = block_table<W>(std::make_index_sequence<kRows * kCols>{});
  at::parallel_for(0, n, kGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t j = begin; j < end; j += kCols) {
      const std::int64_t cols = std::min<std::int64_t>(kCols, end - j);
      for (std::int64_t m = 0; m < rows; m += kRows) {
        const std::int64_t r = std::min<std::int64_t>(kRows, rows - m);
        kBlocks[static_cast<std::size_t>((r - 1) * kCols + cols - 1)](
            w + j * k, k, x + m * k, bias != nullptr ? bias + j : nullptr, y + m * n + j, n);
      }
    }
  });
}
#endif

}  // namespace

bool streamed_linear_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
#if defined(__x86_64__)
  if (!cpu_has_avx512_kernel() || !x.device().is_cpu() || !weight.device().is_cpu()) return false;
  const torch::ScalarType type = weight.scalar_type();
  if ((type != torch::kFloat32 && type != torch::kBFloat16) || x.scalar_type() != type) return false;
  if (weight.dim() != 2 || x.dim() < 1 || weight.size(1) == 0 || x.size(-1) != weight.size(1)) return false;
  if (bias.defined() && (!bias.device().is_cpu() || bias.dim() != 1 || bias.size(0) != weight.size(0))) {
    return false;
  }
  if (torch::GradMode::is_enabled() &&
      (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()))) {
    return false;
  }
  const std::int64_t rows = x.numel() / weight.size(1);
  return rows >= 1 && rows <= (type == torch::kFloat32 ? kStreamedRows : kStreamedRowsBf16);
#else
  (void)x;
  (void)weight;
  (void)bias;
  return false;
#endif
}

torch::Tensor streamed_linear(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias) {
  if (!streamed_linear_applies(x, weight, bias)) {
    throw Error("<streamed_linear>", "x",
                "not a product it computes: x " + c10::str(x.sizes()) + " " + c10::str(x.scalar_type()) +
                    ", weight " + c10::str(weight.sizes()) + " " + c10::str(weight.scalar_type()));
  }
  const std::int64_t n = weight.size(0);
  const std::int64_t k = weight.size(1);
  const std::int64_t rows = x.numel() / k;
  const torch::Tensor xs = x.reshape({rows, k}).to(torch::kFloat32).contiguous();
  const torch::Tensor w = weight.contiguous();  // the model's weights already are: no copy
  const torch::Tensor b = bias.defined() ? bias.to(torch::kFloat32).contiguous() : torch::Tensor();
  torch::Tensor y = torch::empty({rows, n}, torch::kFloat32);
#if defined(__x86_64__)
  const float* bias_data = b.defined() ? b.data_ptr<float>() : nullptr;
  if (w.scalar_type() == torch::kFloat32) {
    stream(w.data_ptr<float>(), n, k, xs.data_ptr<float>(), rows, bias_data, y.data_ptr<float>());
  } else {
    stream(reinterpret_cast<const std::uint16_t*>(w.data_ptr<at::BFloat16>()), n, k, xs.data_ptr<float>(),
           rows, bias_data, y.data_ptr<float>());
  }
#endif
  std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = n;
  return y.view(shape).to(x.scalar_type());
}

}  // namespace remedi::lm
