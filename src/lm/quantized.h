// Weight-only quantized projections: the LM's matrices kept in memory as 32-value blocks of 8-bit or
// 4-bit codes (the block formats of GGUF files: Q8_0, Q4_0, Q4_1), multiplied with float32
// activations by remedi's own CPU kernels. Internal to src/lm (CausalLM::load and project()).
//
// A quantized weight is an ordinary tensor, uint8 of shape (N, K / 32, B): row n of the [out, in]
// matrix is K / 32 blocks of B bytes, each the float32 scale d, then (Q4_1) the float32 offset m, then
// the codes. B names the format:
//   Q8_0  B = 36: int8 q[32],                         w = d * q
//   Q4_0  B = 20: 16 bytes, code j < 16 in the low    w = d * (q - 8)
//                 nibble of byte j, code j + 16 in
//                 its high nibble
//   Q4_1  B = 24: 16 bytes as Q4_0                     w = d * q + m
// The codes and rounding rules are GGUF's, so a GGUF block's (d, m, q) come back unchanged when its
// dequantized values are quantized again (what `--dtype q4_1` on a Q4_1 file does); the scales are
// widened from the files' float16 to float32 once at load so that the kernels never convert them.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace remedi::lm {

enum class QuantFormat : std::uint8_t { Q8_0, Q4_0, Q4_1 };

inline constexpr std::int64_t kQuantBlock = 32;  // values per block

// "q8_0", "q4_0", "q4_1".
std::string quant_format_name(QuantFormat format);
// The format of a quantized weight; nullopt for any other tensor (dense float weights).
std::optional<QuantFormat> quant_format_of(const torch::Tensor& weight);
inline bool is_quantized(const torch::Tensor& weight) { return quant_format_of(weight).has_value(); }

// w (N, K) float (K a multiple of 32) -> (N, K / 32, B) uint8 in `format`.
torch::Tensor quantize_weight(const torch::Tensor& w, QuantFormat format);
// (N, K / 32, B) -> (N, K) float32: the values the kernels multiply with.
torch::Tensor dequantize_weight(const torch::Tensor& q);

// Which kernel multiplies: the AVX-512 one where the CPU has it, else the portable loop (both give
// the same sums up to float rounding order). Tests name one explicitly.
enum class QuantKernel : std::uint8_t { Auto, Portable, Avx512 };
bool cpu_has_avx512_kernel();
// "avx512" or "portable": the kernel Auto picks on this CPU (bench output, version-info).
std::string quant_kernel_name();

// y = x W^T + b for a quantized W (N, K / 32, B): x (..., K) float32, b (N) or undefined, y (..., N)
// float32. Rows of x are multiplied block by block without widening W (few rows: decoding); past
// kDenseRows rows W is widened once and the product is libtorch's (prompt passes). Not
// differentiable: remedi::Error when x requires a gradient (training needs dense weights).
torch::Tensor quantized_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               QuantKernel kernel = QuantKernel::Auto);
inline constexpr std::int64_t kDenseRows = 32;

}  // namespace remedi::lm
