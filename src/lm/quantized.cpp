#include "lm/quantized.h"

// GCC 12's AVX-512 headers leave a vector deliberately undefined in some intrinsics (the
// `__Y = __Y` idiom), which -Wuninitialized reports once they are inlined here: a known false
// positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "io/tensor_view.h"
#include "util/error.h"

namespace remedi::lm {

namespace {

constexpr std::int64_t block_bytes(QuantFormat format) {
  switch (format) {
    case QuantFormat::Q8_0:
      return 4 + 32;
    case QuantFormat::Q4_0:
      return 4 + 16;
    case QuantFormat::Q4_1:
      return 4 + 4 + 16;
  }
  return 0;
}

// Where the codes start in a block (after d, and m for Q4_1).
constexpr std::int64_t codes_offset(QuantFormat format) { return format == QuantFormat::Q4_1 ? 8 : 4; }

float load_float(const std::uint8_t* p) {
  float value = 0;
  std::memcpy(&value, p, sizeof value);
  return value;
}

void store_float(std::uint8_t* p, float value) { std::memcpy(p, &value, sizeof value); }

// A scale as the GGUF block stores it (float16), widened back: quantizing a GGUF block's dequantized
// values then finds the file's scale exactly.
float as_half(float value) { return io::f16_to_f32(io::f32_to_f16(value)); }

// One block of 32 values -> B bytes. The code choices are GGUF's reference quantizers': Q8_0 scales
// by the largest magnitude (127 steps), Q4_0 by the value of largest magnitude with its sign (it
// gets code 0, i.e. -8 steps), Q4_1 spans [min, max] in 15 steps. Codes are computed with the
// unrounded scale, then the scale is stored rounded to float16, as the files do.
void quantize_block(QuantFormat format, const float* v, std::uint8_t* out) {
  switch (format) {
    case QuantFormat::Q8_0: {
      float largest = 0;
      for (int j = 0; j < 32; ++j) largest = std::max(largest, std::fabs(v[j]));
      const float d = largest / 127.0F;
      const float inverse = d != 0 ? 1.0F / d : 0.0F;
      store_float(out, as_half(d));
      for (int j = 0; j < 32; ++j) {
        out[4 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(v[j] * inverse)));
      }
      return;
    }
    case QuantFormat::Q4_0: {
      float extreme = 0;  // the value of largest magnitude, signed
      for (int j = 0; j < 32; ++j) {
        if (std::fabs(v[j]) > std::fabs(extreme)) extreme = v[j];
      }
      const float d = extreme / -8.0F;
      const float inverse = d != 0 ? 1.0F / d : 0.0F;
      store_float(out, as_half(d));
      const auto code = [&](float x) {
        return static_cast<std::uint8_t>(std::min(15, static_cast<int>(x * inverse + 8.5F)));
      };
      for (int j = 0; j < 16; ++j)
        out[4 + j] = static_cast<std::uint8_t>(code(v[j]) | (code(v[j + 16]) << 4));
      return;
    }
    case QuantFormat::Q4_1: {
      float lowest = v[0];
      float highest = v[0];
      for (int j = 1; j < 32; ++j) {
        lowest = std::min(lowest, v[j]);
        highest = std::max(highest, v[j]);
      }
      const float d = (highest - lowest) / 15.0F;
      const float inverse = d != 0 ? 1.0F / d : 0.0F;
      store_float(out, as_half(d));
      store_float(out + 4, as_half(lowest));
      const auto code = [&](float x) {
        return static_cast<std::uint8_t>(std::min(15, static_cast<int>((x - lowest) * inverse + 0.5F)));
      };
      for (int j = 0; j < 16; ++j)
        out[8 + j] = static_cast<std::uint8_t>(code(v[j]) | (code(v[j + 16]) << 4));
      return;
    }
  }
}

// One block -> 32 floats, exactly as io's GGUF dequantizers compute them (a product, then for Q4_1 a
// separate sum), so that the weights of a GGUF file are the same floats dense or quantized.
void dequantize_block(QuantFormat format, const std::uint8_t* block, float* out) {
  const float d = load_float(block);
  const std::uint8_t* codes = block + codes_offset(format);
  switch (format) {
    case QuantFormat::Q8_0:
      for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(static_cast<std::int8_t>(codes[j])) * d;
      return;
    case QuantFormat::Q4_0:
      for (int j = 0; j < 16; ++j) {
        out[j] = static_cast<float>((codes[j] & 0x0F) - 8) * d;
        out[j + 16] = static_cast<float>((codes[j] >> 4) - 8) * d;
      }
      return;
    case QuantFormat::Q4_1: {
      const float m = load_float(block + 4);
      for (int j = 0; j < 16; ++j) {
        out[j] = static_cast<float>(codes[j] & 0x0F) * d + m;
        out[j + 16] = static_cast<float>(codes[j] >> 4) * d + m;
      }
      return;
    }
  }
}

// ---- Kernels: `rows` (1..4) dot products of one weight row (nb blocks) with rows of x ----

constexpr int kMaxTile = 4;

void dot_portable(QuantFormat format, const std::uint8_t* row, std::int64_t nb, const float* const* x,
                  int rows, float* out) {
  std::array<float, kMaxTile> acc{};
  std::array<float, 32> w{};
  for (std::int64_t b = 0; b < nb; ++b) {
    dequantize_block(format, row + b * block_bytes(format), w.data());
    for (int m = 0; m < rows; ++m) {
      const float* xb = x[m] + b * kQuantBlock;
      float sum = 0;
      for (int j = 0; j < 32; ++j) sum += w[static_cast<std::size_t>(j)] * xb[j];
      acc[static_cast<std::size_t>(m)] += sum;
    }
  }
  std::copy_n(acc.begin(), rows, out);
}

#if defined(__x86_64__)
#define REMEDI_AVX512 __attribute__((target("avx512f")))

// The block's 32 weights as two vectors of 16 floats (values 0-15 and 16-31), computed as
// dequantize_block does.
template <QuantFormat F>
REMEDI_AVX512 inline void widen_block(const std::uint8_t* block, __m512& low, __m512& high) {
  const __m512 d = _mm512_set1_ps(load_float(block));
  const std::uint8_t* codes = block + codes_offset(F);
  if constexpr (F == QuantFormat::Q8_0) {
    const __m128i first = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes));
    const __m128i second = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + 16));
    low = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(first)), d);
    high = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(second)), d);
  } else {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes));
    const __m128i nibble = _mm_set1_epi8(0x0F);
    __m512i low_codes = _mm512_cvtepu8_epi32(_mm_and_si128(packed, nibble));
    __m512i high_codes = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(packed, 4), nibble));
    if constexpr (F == QuantFormat::Q4_0) {
      const __m512i eight = _mm512_set1_epi32(8);
      low_codes = _mm512_sub_epi32(low_codes, eight);
      high_codes = _mm512_sub_epi32(high_codes, eight);
    }
    low = _mm512_mul_ps(_mm512_cvtepi32_ps(low_codes), d);
    high = _mm512_mul_ps(_mm512_cvtepi32_ps(high_codes), d);
    if constexpr (F == QuantFormat::Q4_1) {
      const __m512 m = _mm512_set1_ps(load_float(block + 4));
      low = _mm512_add_ps(low, m);
      high = _mm512_add_ps(high, m);
    }
  }
}

// Two accumulators per x row (one per half block) so that consecutive FMAs do not wait for each
// other; each block is widened once for all `Rows` rows of x.
template <QuantFormat F, int Rows>
REMEDI_AVX512 void dot_avx512(const std::uint8_t* row, std::int64_t nb, const float* const* x, float* out) {
  __m512 acc_low[Rows];
  __m512 acc_high[Rows];
  const float* rows[Rows];
#pragma GCC unroll 4
  for (int m = 0; m < Rows; ++m) {
    rows[m] = x[m];
    acc_low[m] = _mm512_setzero_ps();
    acc_high[m] = _mm512_setzero_ps();
  }
  for (std::int64_t b = 0; b < nb; ++b) {
    __m512 low;
    __m512 high;
    widen_block<F>(row + b * block_bytes(F), low, high);
#pragma GCC unroll 4
    for (int m = 0; m < Rows; ++m) {
      const float* xb = rows[m] + b * kQuantBlock;
      acc_low[m] = _mm512_fmadd_ps(low, _mm512_loadu_ps(xb), acc_low[m]);
      acc_high[m] = _mm512_fmadd_ps(high, _mm512_loadu_ps(xb + 16), acc_high[m]);
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < Rows; ++m) out[m] = _mm512_reduce_add_ps(_mm512_add_ps(acc_low[m], acc_high[m]));
}

template <QuantFormat F>
void dot_avx512_rows(const std::uint8_t* row, std::int64_t nb, const float* const* x, int rows, float* out) {
  switch (rows) {
    case 1:
      return dot_avx512<F, 1>(row, nb, x, out);
    case 2:
      return dot_avx512<F, 2>(row, nb, x, out);
    case 3:
      return dot_avx512<F, 3>(row, nb, x, out);
    default:
      return dot_avx512<F, 4>(row, nb, x, out);
  }
}

void dot_avx512_any(QuantFormat format, const std::uint8_t* row, std::int64_t nb, const float* const* x,
                    int rows, float* out) {
  switch (format) {
    case QuantFormat::Q8_0:
      return dot_avx512_rows<QuantFormat::Q8_0>(row, nb, x, rows, out);
    case QuantFormat::Q4_0:
      return dot_avx512_rows<QuantFormat::Q4_0>(row, nb, x, rows, out);
    case QuantFormat::Q4_1:
      return dot_avx512_rows<QuantFormat::Q4_1>(row, nb, x, rows, out);
  }
}
#endif

}  // namespace

std::string quant_format_name(QuantFormat format) {
  switch (format) {
    case QuantFormat::Q8_0:
      return "q8_0";
    case QuantFormat::Q4_0:
      return "q4_0";
    case QuantFormat::Q4_1:
      return "q4_1";
  }
  return "?";
}

std::optional<QuantFormat> quant_format_of(const torch::Tensor& weight) {
  if (!weight.defined() || weight.scalar_type() != torch::kUInt8 || weight.dim() != 3) return std::nullopt;
  for (const QuantFormat format : {QuantFormat::Q8_0, QuantFormat::Q4_0, QuantFormat::Q4_1}) {
    if (weight.size(2) == block_bytes(format)) return format;
  }
  return std::nullopt;
}

torch::Tensor quantize_weight(const torch::Tensor& w, QuantFormat format) {
  if (w.dim() != 2 || w.size(1) % kQuantBlock != 0) {
    throw Error("<quantize>", "weight",
                "needs a matrix whose rows are a multiple of 32 values, got " + c10::str(w.sizes()));
  }
  const torch::Tensor dense = w.to(torch::kCPU, torch::kFloat32).contiguous();
  const std::int64_t rows = dense.size(0);
  const std::int64_t blocks = dense.size(1) / kQuantBlock;
  const std::int64_t bytes = block_bytes(format);
  torch::Tensor q = torch::empty({rows, blocks, bytes}, torch::kUInt8);
  const float* in = dense.data_ptr<float>();
  std::uint8_t* out = q.data_ptr<std::uint8_t>();
  at::parallel_for(0, rows * blocks, 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) quantize_block(format, in + i * kQuantBlock, out + i * bytes);
  });
  return q;
}

torch::Tensor dequantize_weight(const torch::Tensor& q) {
  const std::optional<QuantFormat> format = quant_format_of(q);
  if (!format) throw Error("<dequantize>", "weight", "not a quantized weight: " + c10::str(q.sizes()));
  const torch::Tensor blocks = q.contiguous();
  const std::int64_t count = blocks.size(0) * blocks.size(1);
  torch::Tensor dense = torch::empty({blocks.size(0), blocks.size(1) * kQuantBlock}, torch::kFloat32);
  const std::uint8_t* in = blocks.data_ptr<std::uint8_t>();
  float* out = dense.data_ptr<float>();
  const std::int64_t bytes = block_bytes(*format);
  at::parallel_for(0, count, 4096, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i)
      dequantize_block(*format, in + i * bytes, out + i * kQuantBlock);
  });
  return dense;
}

bool cpu_has_avx512_kernel() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

std::string quant_kernel_name() { return cpu_has_avx512_kernel() ? "avx512" : "portable"; }

torch::Tensor quantized_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               QuantKernel kernel) {
  const std::optional<QuantFormat> format = quant_format_of(weight);
  if (!format)
    throw Error("<quantized_linear>", "weight", "not a quantized weight: " + c10::str(weight.sizes()));
  const std::int64_t n_out = weight.size(0);
  const std::int64_t nb = weight.size(1);
  const std::int64_t n_in = nb * kQuantBlock;
  if (x.size(-1) != n_in) {
    throw Error("<quantized_linear>", "x",
                "last dimension " + std::to_string(x.size(-1)) + " does not match the weight's " +
                    std::to_string(n_in));
  }
  if (torch::GradMode::is_enabled() && x.requires_grad()) {
    throw Error("<model>", "--dtype",
                quant_format_name(*format) +
                    " weights are for inference (generate, edit, evaluations, serve); training "
                    "differentiates through the model: load it with fp32 or bf16");
  }
  const std::int64_t m_rows = x.numel() / n_in;
  if (m_rows > kDenseRows) return torch::linear(x.to(torch::kFloat32), dequantize_weight(weight), bias);
  std::vector<std::int64_t> out_shape(x.sizes().begin(), x.sizes().end());
  out_shape.back() = n_out;
  const torch::Tensor rows = x.reshape({m_rows, n_in}).to(torch::kFloat32).contiguous();

  torch::Tensor y = torch::empty({m_rows, n_out}, torch::kFloat32);
  const torch::Tensor blocks = weight.contiguous();
  const std::uint8_t* w = blocks.data_ptr<std::uint8_t>();
  const float* xs = rows.data_ptr<float>();
  float* ys = y.data_ptr<float>();
  const std::int64_t row_bytes = nb * block_bytes(*format);
  using Dot = void (*)(QuantFormat, const std::uint8_t*, std::int64_t, const float* const*, int, float*);
  Dot dot = dot_portable;
  if (kernel == QuantKernel::Avx512 || (kernel == QuantKernel::Auto && cpu_has_avx512_kernel())) {
    if (!cpu_has_avx512_kernel()) throw Error("<quantized_linear>", "kernel", "this CPU lacks AVX-512");
#if defined(__x86_64__)
    dot = dot_avx512_any;
#endif
  }
  at::parallel_for(0, n_out, 16, [&](std::int64_t begin, std::int64_t end) {
    std::array<const float*, kMaxTile> x_tile{};
    std::array<float, kMaxTile> sums{};
    for (std::int64_t n = begin; n < end; ++n) {
      const std::uint8_t* row = w + n * row_bytes;
      for (std::int64_t m0 = 0; m0 < m_rows; m0 += kMaxTile) {
        const int tile = static_cast<int>(std::min<std::int64_t>(kMaxTile, m_rows - m0));
        for (int i = 0; i < tile; ++i) x_tile[static_cast<std::size_t>(i)] = xs + (m0 + i) * n_in;
        dot(*format, row, nb, x_tile.data(), tile, sums.data());
        for (int i = 0; i < tile; ++i) ys[(m0 + i) * n_out + n] = sums[static_cast<std::size_t>(i)];
      }
    }
  });
  if (bias.defined()) y += bias.to(torch::kFloat32);
  return y.view(out_shape);
}

}  // namespace remedi::lm
