#include "io/tensor_view.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include "util/error.h"

namespace remedi::io {

namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::int64_t block_elements;
  std::int64_t block_bytes;
  bool float_like;
};

// Block sizes of the GGML quantizations follow ggml's block_* structs (ggml-common.h): an f16
// scale (and minimum) followed by packed quants; the K-quants group 256 values into a super-block.
constexpr std::int64_t kSuperBlock = 256;
constexpr std::array<DTypeInfo, 18> kDTypes = {{
    {DType::F32, "F32", 1, 4, true},
    {DType::F16, "F16", 1, 2, true},
    {DType::BF16, "BF16", 1, 2, true},
    {DType::F64, "F64", 1, 8, true},
    {DType::I8, "I8", 1, 1, false},
    {DType::I16, "I16", 1, 2, false},
    {DType::I32, "I32", 1, 4, false},
    {DType::I64, "I64", 1, 8, false},
    {DType::U8, "U8", 1, 1, false},
    {DType::BOOL, "BOOL", 1, 1, false},
    {DType::Q4_0, "Q4_0", 32, 2 + 16, true},
    {DType::Q4_1, "Q4_1", 32, 2 + 2 + 16, true},
    {DType::Q5_0, "Q5_0", 32, 2 + 4 + 16, true},
    {DType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16, true},
    {DType::Q8_0, "Q8_0", 32, 2 + 32, true},
    {DType::Q4_K, "Q4_K", kSuperBlock, 2 + 2 + 12 + kSuperBlock / 2, true},
    {DType::Q5_K, "Q5_K", kSuperBlock, 2 + 2 + 12 + kSuperBlock / 8 + kSuperBlock / 2, true},
    {DType::Q6_K, "Q6_K", kSuperBlock, kSuperBlock / 2 + kSuperBlock / 4 + kSuperBlock / 16 + 2, true},
}};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  // Every enumerator has a row above; reaching here means the table and the enum disagree.
  throw std::logic_error("dtype missing from the dtype table");
}

std::uint16_t load_u16(const std::byte* p) {
  std::uint16_t value = 0;
  std::memcpy(&value, p, sizeof value);
  return value;
}

float load_f16(const std::byte* p) { return f16_to_f32(load_u16(p)); }

std::uint8_t byte_at(const std::byte* p, std::int64_t i) { return std::to_integer<std::uint8_t>(p[i]); }

// --- 32-value blocks. Quant j (0..15) of a block is the low nibble of qs[j]; quant j+16 the high
// nibble. Q5 types take a fifth bit for value i from bit i of the 32-bit qh word.

void dequantize_q4_0(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const std::byte* qs = block + 2;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q = byte_at(qs, j);
    out[j] = static_cast<float>((q & 0x0F) - 8) * scale;
    out[j + 16] = static_cast<float>((q >> 4) - 8) * scale;
  }
}

void dequantize_q4_1(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const float minimum = load_f16(block + 2);
  const std::byte* qs = block + 4;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q = byte_at(qs, j);
    out[j] = static_cast<float>(q & 0x0F) * scale + minimum;
    out[j + 16] = static_cast<float>(q >> 4) * scale + minimum;
  }
}

std::uint32_t load_u32(const std::byte* p) {
  std::uint32_t value = 0;
  std::memcpy(&value, p, sizeof value);
  return value;
}

void dequantize_q5_0(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const std::uint32_t high_bits = load_u32(block + 2);
  const std::byte* qs = block + 6;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q = byte_at(qs, j);
    const int low = (q & 0x0F) | static_cast<int>(((high_bits >> j) & 1U) << 4);
    const int high = (q >> 4) | static_cast<int>(((high_bits >> (j + 16)) & 1U) << 4);
    out[j] = static_cast<float>(low - 16) * scale;
    out[j + 16] = static_cast<float>(high - 16) * scale;
  }
}

void dequantize_q5_1(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const float minimum = load_f16(block + 2);
  const std::uint32_t high_bits = load_u32(block + 4);
  const std::byte* qs = block + 8;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t q = byte_at(qs, j);
    const int low = (q & 0x0F) | static_cast<int>(((high_bits >> j) & 1U) << 4);
    const int high = (q >> 4) | static_cast<int>(((high_bits >> (j + 16)) & 1U) << 4);
    out[j] = static_cast<float>(low) * scale + minimum;
    out[j + 16] = static_cast<float>(high) * scale + minimum;
  }
}

void dequantize_q8_0(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const std::byte* qs = block + 2;
  for (int j = 0; j < 32; ++j) {
    out[j] = static_cast<float>(static_cast<std::int8_t>(byte_at(qs, j))) * scale;
  }
}

// --- 256-value super-blocks.
// Q4_K / Q5_K: eight sub-blocks of 32 values, each with a 6-bit scale and a 6-bit minimum packed
// into 12 bytes: sub-blocks 0..3 use the low 6 bits of bytes 0..3 (scale) and 4..7 (minimum);
// sub-blocks 4..7 take their low 4 bits from the nibbles of bytes 8..11 and their top 2 bits from
// the spare top bits of bytes 0..3 (scale) and 4..7 (minimum).
struct ScaleMin {
  int scale;
  int minimum;
};

ScaleMin k_scale_min(const std::byte* packed, int sub_block) {
  if (sub_block < 4) {
    return {byte_at(packed, sub_block) & 0x3F, byte_at(packed, sub_block + 4) & 0x3F};
  }
  const std::uint8_t nibbles = byte_at(packed, sub_block + 4);
  return {(nibbles & 0x0F) | ((byte_at(packed, sub_block - 4) >> 6) << 4),
          (nibbles >> 4) | ((byte_at(packed, sub_block) >> 6) << 4)};
}

// Each group of 64 values reads 32 quant bytes: their low nibbles give values 0..31 of the group
// (sub-block 2g), the high nibbles values 32..63 (sub-block 2g+1). Q5_K adds bit (2g) / (2g+1) of
// qh[l] as the fifth bit of value l / l+32.
void dequantize_q4_k(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const float min_scale = load_f16(block + 2);
  const std::byte* packed = block + 4;
  const std::byte* qs = block + 16;
  for (int group = 0; group < 4; ++group) {
    const ScaleMin low = k_scale_min(packed, 2 * group);
    const ScaleMin high = k_scale_min(packed, 2 * group + 1);
    const float low_scale = scale * static_cast<float>(low.scale);
    const float low_min = min_scale * static_cast<float>(low.minimum);
    const float high_scale = scale * static_cast<float>(high.scale);
    const float high_min = min_scale * static_cast<float>(high.minimum);
    const std::byte* q = qs + 32 * group;
    float* y = out + 64 * group;
    for (int l = 0; l < 32; ++l) {
      const std::uint8_t v = byte_at(q, l);
      y[l] = low_scale * static_cast<float>(v & 0x0F) - low_min;
      y[l + 32] = high_scale * static_cast<float>(v >> 4) - high_min;
    }
  }
}

void dequantize_q5_k(const std::byte* block, float* out) {
  const float scale = load_f16(block);
  const float min_scale = load_f16(block + 2);
  const std::byte* packed = block + 4;
  const std::byte* qh = block + 16;
  const std::byte* qs = block + 48;
  for (int group = 0; group < 4; ++group) {
    const ScaleMin low = k_scale_min(packed, 2 * group);
    const ScaleMin high = k_scale_min(packed, 2 * group + 1);
    const float low_scale = scale * static_cast<float>(low.scale);
    const float low_min = min_scale * static_cast<float>(low.minimum);
    const float high_scale = scale * static_cast<float>(high.scale);
    const float high_min = min_scale * static_cast<float>(high.minimum);
    const std::byte* q = qs + 32 * group;
    float* y = out + 64 * group;
    for (int l = 0; l < 32; ++l) {
      const std::uint8_t v = byte_at(q, l);
      const std::uint8_t h = byte_at(qh, l);
      const int low_q = (v & 0x0F) | (((h >> (2 * group)) & 1) << 4);
      const int high_q = (v >> 4) | (((h >> (2 * group + 1)) & 1) << 4);
      y[l] = low_scale * static_cast<float>(low_q) - low_min;
      y[l + 32] = high_scale * static_cast<float>(high_q) - high_min;
    }
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), 16 signed 8-bit scales (one per 16 values),
// then the f16 super-scale. Each half of 128 values uses 64 ql bytes and 32 qh bytes: value l,
// l+32, l+64, l+96 take the low nibble of ql[l], low nibble of ql[l+32], high nibble of ql[l],
// high nibble of ql[l+32], and bits 0-1, 2-3, 4-5, 6-7 of qh[l]; quants are offset by 32.
void dequantize_q6_k(const std::byte* block, float* out) {
  const std::byte* ql_all = block;
  const std::byte* qh_all = block + 128;
  const std::byte* scales = block + 192;
  const float scale = load_f16(block + 208);
  for (int half = 0; half < 2; ++half) {
    const std::byte* ql = ql_all + 64 * half;
    const std::byte* qh = qh_all + 32 * half;
    float* y = out + 128 * half;
    for (int l = 0; l < 32; ++l) {
      const std::uint8_t h = byte_at(qh, l);
      const std::uint8_t a = byte_at(ql, l);
      const std::uint8_t b = byte_at(ql, l + 32);
      const std::array<int, 4> quants = {
          ((a & 0x0F) | ((h & 0x03) << 4)) - 32, ((b & 0x0F) | (((h >> 2) & 0x03) << 4)) - 32,
          ((a >> 4) | (((h >> 4) & 0x03) << 4)) - 32, ((b >> 4) | (((h >> 6) & 0x03) << 4)) - 32};
      for (int quarter = 0; quarter < 4; ++quarter) {
        const int value_index = l + 32 * quarter;
        const auto sub_scale = static_cast<std::int8_t>(byte_at(scales, 8 * half + value_index / 16));
        y[value_index] = scale * static_cast<float>(sub_scale) * static_cast<float>(quants[quarter]);
      }
    }
  }
}

using BlockDequantizer = void (*)(const std::byte*, float*);

BlockDequantizer block_dequantizer(DType dtype) {
  switch (dtype) {
    case DType::Q4_0:
      return dequantize_q4_0;
    case DType::Q4_1:
      return dequantize_q4_1;
    case DType::Q5_0:
      return dequantize_q5_0;
    case DType::Q5_1:
      return dequantize_q5_1;
    case DType::Q8_0:
      return dequantize_q8_0;
    case DType::Q4_K:
      return dequantize_q4_k;
    case DType::Q5_K:
      return dequantize_q5_k;
    case DType::Q6_K:
      return dequantize_q6_k;
    default:
      return nullptr;
  }
}

// Converts `count` values (a whole number of blocks) starting at `src`.
void convert_span(DType dtype, const std::byte* src, float* dst, std::int64_t count) {
  // Empty tensors may come with null pointers, which memcpy must not see even for 0 bytes.
  if (count == 0) return;
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, static_cast<std::size_t>(count) * sizeof(float));
      return;
    case DType::F16:
      for (std::int64_t i = 0; i < count; ++i) dst[i] = f16_to_f32(load_u16(src + 2 * i));
      return;
    case DType::BF16:
      for (std::int64_t i = 0; i < count; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    case DType::F64:
      for (std::int64_t i = 0; i < count; ++i) {
        double value = 0;
        std::memcpy(&value, src + 8 * i, sizeof value);
        dst[i] = static_cast<float>(value);
      }
      return;
    default:
      break;
  }
  const BlockDequantizer dequantize = block_dequantizer(dtype);
  const std::int64_t block_elements = dtype_block_elements(dtype);
  const std::int64_t block_bytes = dtype_block_bytes(dtype);
  for (std::int64_t block = 0; block < count / block_elements; ++block) {
    dequantize(src + block * block_bytes, dst + block * block_elements);
  }
}

void check_convertible(const TensorView& view, std::size_t out_size, const std::string& file) {
  if (!dtype_is_float_like(view.dtype)) {
    throw Error(file, view.name, "cannot convert " + std::string(dtype_name(view.dtype)) + " to float");
  }
  const std::int64_t numel = view.numel();
  const auto needed = dtype_storage_bytes(view.dtype, numel);
  if (!needed || *needed != view.bytes.size()) {
    throw Error(file, view.name,
                "holds " + std::to_string(view.bytes.size()) + " bytes, shape needs " +
                    (needed ? std::to_string(*needed) : std::string("an invalid count")));
  }
  if (out_size != static_cast<std::size_t>(numel)) {
    throw Error(file, view.name,
                "output holds " + std::to_string(out_size) + " values, tensor has " + std::to_string(numel));
  }
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::int64_t dtype_block_elements(DType dtype) { return info(dtype).block_elements; }
std::int64_t dtype_block_bytes(DType dtype) { return info(dtype).block_bytes; }
bool dtype_is_quantized(DType dtype) { return info(dtype).block_elements > 1; }
bool dtype_is_float_like(DType dtype) { return info(dtype).float_like; }

std::optional<std::uint64_t> dtype_storage_bytes(DType dtype, std::int64_t elements) {
  const DTypeInfo& entry = info(dtype);
  if (elements < 0 || elements % entry.block_elements != 0) return std::nullopt;
  const auto blocks = static_cast<std::uint64_t>(elements / entry.block_elements);
  const auto block_bytes = static_cast<std::uint64_t>(entry.block_bytes);
  if (blocks > std::numeric_limits<std::uint64_t>::max() / block_bytes) return std::nullopt;
  return blocks * block_bytes;
}

std::int64_t TensorView::numel() const {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) count *= dim;
  return count;
}

void to_f32(const TensorView& view, std::span<float> out, const std::string& file) {
  check_convertible(view, out.size(), file);
  convert_span(view.dtype, view.bytes.data(), out.data(), view.numel());
}

void to_bf16(const TensorView& view, std::span<std::uint16_t> out, const std::string& file) {
  check_convertible(view, out.size(), file);
  // Widen a chunk at a time (a multiple of every block size) so the f32 copy stays in cache.
  constexpr std::int64_t kChunk = 16 * kSuperBlock;
  std::array<float, kChunk> chunk{};
  const std::int64_t numel = view.numel();
  const std::int64_t bytes_per_chunk =
      kChunk / dtype_block_elements(view.dtype) * dtype_block_bytes(view.dtype);
  for (std::int64_t start = 0; start < numel; start += kChunk) {
    const std::int64_t count = std::min(kChunk, numel - start);
    const std::byte* src = view.bytes.data() + (start / kChunk) * bytes_per_chunk;
    convert_span(view.dtype, src, chunk.data(), count);
    for (std::int64_t i = 0; i < count; ++i) out[static_cast<std::size_t>(start + i)] = f32_to_bf16(chunk[i]);
  }
}

float f16_to_f32(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000U) << 16;
  const std::uint32_t magnitude = bits & 0x7FFFU;
  if (magnitude >= 0x7C00U) {  // infinity or NaN: all-ones exponent, payload kept
    return std::bit_cast<float>(sign | 0x7F800000U | (magnitude & 0x03FFU) << 13);
  }
  // Placing the 15 magnitude bits at the top of an f32's exponent/mantissa gives the value scaled by
  // 2^-112 (the bias difference 127 - 15); one exact multiply fixes it, subnormals included.
  const float scaled = std::bit_cast<float>(magnitude << 13) * 0x1p112F;
  return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(scaled));
}

float bf16_to_f32(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

std::uint16_t f32_to_bf16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7FFFFFFFU) > 0x7F800000U) {  // NaN: keep it quiet and keep the sign
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040U);
  }
  const std::uint32_t rounding = 0x7FFFU + ((bits >> 16) & 1U);  // round to nearest, ties to even
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

std::uint16_t f32_to_f16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000U);
  const std::uint32_t magnitude = bits & 0x7FFFFFFFU;
  if (magnitude > 0x7F800000U) return static_cast<std::uint16_t>(sign | 0x7E00U);   // NaN
  if (magnitude >= 0x477FF000U) return static_cast<std::uint16_t>(sign | 0x7C00U);  // rounds past 65504
  if (magnitude < 0x38800000U) {
    // Result is subnormal (or zero): its unit is 2^-24, so add 0.5 (2^-1) to move the value's bits
    // to the bottom of an f32 mantissa, where the FPU rounds to nearest-even for us.
    const float shifted = std::bit_cast<float>(magnitude) + 0.5F;
    return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3F000000U));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest-even.
  const std::uint32_t odd = (magnitude >> 13) & 1U;
  const std::uint32_t rounded = magnitude + 0xC8000FFFU + odd;  // -112 << 23 plus the rounding bias
  return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

}  // namespace remedi::io
