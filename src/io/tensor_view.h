// A typed view of tensor bytes inside a mapped model file, and conversion of every supported
// storage type (plain floats and GGML block quantizations) to f32 / bf16.
//
// Shapes are always row-major, outermost dimension first (the PyTorch / safetensors order).
// GGUF lists dimensions innermost first (ne[0] is contiguous); its reader reverses them, so a GGUF
// weight of ne = [576, 1536] appears here as shape {1536, 576}, the same as the HF checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::io {

enum class DType {
  F32,
  F16,
  BF16,
  F64,
  I8,
  I16,
  I32,
  I64,
  U8,
  BOOL,
  // GGML block quantizations (GGUF only). Blocks run along the innermost dimension.
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q4_K,
  Q5_K,
  Q6_K,
};

// Name as written in files and printed to users: "F32", "BF16", "Q4_1", ...
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);

// Elements per block and bytes per block (1 and sizeof(element) for plain types).
std::int64_t dtype_block_elements(DType dtype);
std::int64_t dtype_block_bytes(DType dtype);
bool dtype_is_quantized(DType dtype);
// True for types that to_f32 can convert (all floating and quantized types).
bool dtype_is_float_like(DType dtype);

// Bytes needed for `elements` values; nullopt if `elements` is not a whole number of blocks or the
// product overflows.
std::optional<std::uint64_t> dtype_storage_bytes(DType dtype, std::int64_t elements);

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;   // row-major, outermost first
  std::span<const std::byte> bytes;  // exactly dtype_storage_bytes(dtype, numel()) bytes

  std::int64_t numel() const;
};

// Dequantize / widen `view` into `out` (out.size() == view.numel()). Supported: F32, F16, BF16,
// F64 and every GGML quantization above. Throws remedi::Error(`file`, view.name, ...) otherwise.
void to_f32(const TensorView& view, std::span<float> out, const std::string& file);
// Same, rounding to bfloat16 (round-to-nearest-even), stored as raw uint16 bit patterns.
void to_bf16(const TensorView& view, std::span<std::uint16_t> out, const std::string& file);

// Scalar conversions used by the above and by tests.
float f16_to_f32(std::uint16_t bits);
float bf16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_bf16(float value);
std::uint16_t f32_to_f16(float value);

}  // namespace remedi::io
