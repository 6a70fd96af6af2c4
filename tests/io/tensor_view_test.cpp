// Scalar conversions, dtype tables, and dequantization of blocks built by hand from the GGML block
// definitions (ggml-common.h), with expectations computed from the unpacked quants and scales.
#include "io/tensor_view.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "io/expect_error.h"

namespace remedi::io {
namespace {

constexpr std::uint16_t kF16One = 0x3C00;
constexpr std::uint16_t kF16Half = 0x3800;

void put_u16(std::vector<std::byte>& bytes, std::size_t at, std::uint16_t value) {
  std::memcpy(bytes.data() + at, &value, 2);
}

std::vector<float> dequantize(DType dtype, const std::vector<std::byte>& bytes,
                              std::vector<std::int64_t> shape) {
  const TensorView view{"t", dtype, std::move(shape), bytes};
  std::vector<float> out(static_cast<std::size_t>(view.numel()));
  to_f32(view, out, "test");
  return out;
}

TEST(Float16, KnownBitPatterns) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0F);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0F);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0F);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0F, -14));     // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0F, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0F, -24));  // largest subnormal
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_EQ(f16_to_f32(0x8000), 0.0F);
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));
}

TEST(Float16, EveryFiniteValueRoundTrips) {
  for (std::uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    if ((half & 0x7C00) == 0x7C00 && (half & 0x03FF) != 0) continue;  // NaN payloads are not preserved
    ASSERT_EQ(f32_to_f16(f16_to_f32(half)), half) << "bits " << bits;
  }
}

TEST(Float16, RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0F + std::ldexp(1.0F, -11)), kF16One);     // tie -> even (1.0)
  EXPECT_EQ(f32_to_f16(1.0F + 3 * std::ldexp(1.0F, -11)), 0x3C02);  // tie -> even (1 + 2^-9)
  EXPECT_EQ(f32_to_f16(1.0F + std::ldexp(1.0F, -11) + std::ldexp(1.0F, -20)), 0x3C01);  // above the tie
  EXPECT_EQ(f32_to_f16(65519.0F), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0F), 0x7C00);  // tie between 65504 and 2^16 goes to infinity
  EXPECT_EQ(f32_to_f16(1e10F), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e10F), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0F, -25)), 0x0000);      // tie -> even (0)
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0F, -26)), 0x0001);  // 0.75 ulp -> 1 ulp
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.5F, -24)), 0x0400);   // rounds up into the normals
  EXPECT_EQ(f32_to_f16(1e-10F), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0F), 0x8000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x7E00, 0x7E00);
}

TEST(BFloat16, ConversionsRoundToNearestEven) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0F);
  EXPECT_EQ(bf16_to_f32(0xC0A0), -5.0F);
  EXPECT_EQ(f32_to_bf16(1.0F), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0F + std::ldexp(1.0F, -8)), 0x3F80);      // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0F + 3 * std::ldexp(1.0F, -8)), 0x3F82);  // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0F + std::ldexp(1.0F, -8) + std::ldexp(1.0F, -20)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // overflows to infinity
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  const std::uint16_t nan = f32_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16_to_f32(nan)));
  // A NaN whose payload sits only in the low 16 bits must not become infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0x7F800001U)))));
}

TEST(DTypeTable, NamesSizesAndStorage) {
  EXPECT_EQ(dtype_name(DType::Q4_K), "Q4_K");
  EXPECT_EQ(dtype_from_name("BF16"), DType::BF16);
  EXPECT_EQ(dtype_from_name("Q6_K"), DType::Q6_K);
  EXPECT_FALSE(dtype_from_name("F8_E4M3").has_value());
  // Block sizes from ggml-common.h.
  const std::array<std::pair<DType, std::int64_t>, 8> quant_bytes = {{{DType::Q4_0, 18},
                                                                      {DType::Q4_1, 20},
                                                                      {DType::Q5_0, 22},
                                                                      {DType::Q5_1, 24},
                                                                      {DType::Q8_0, 34},
                                                                      {DType::Q4_K, 144},
                                                                      {DType::Q5_K, 176},
                                                                      {DType::Q6_K, 210}}};
  for (const auto& [dtype, bytes] : quant_bytes) {
    EXPECT_EQ(dtype_block_bytes(dtype), bytes) << dtype_name(dtype);
    EXPECT_TRUE(dtype_is_quantized(dtype));
    EXPECT_TRUE(dtype_is_float_like(dtype));
  }
  EXPECT_EQ(dtype_block_elements(DType::Q4_K), 256);
  EXPECT_EQ(dtype_block_elements(DType::Q8_0), 32);
  EXPECT_EQ(dtype_block_bytes(DType::BF16), 2);
  EXPECT_FALSE(dtype_is_float_like(DType::I32));
  EXPECT_FALSE(dtype_is_quantized(DType::F64));
  EXPECT_EQ(dtype_storage_bytes(DType::Q8_0, 64), 68U);
  EXPECT_EQ(dtype_storage_bytes(DType::F32, 0), 0U);
  EXPECT_FALSE(dtype_storage_bytes(DType::Q8_0, 33).has_value());
  EXPECT_FALSE(dtype_storage_bytes(DType::F64, -1).has_value());
  EXPECT_FALSE(dtype_storage_bytes(DType::F64, std::numeric_limits<std::int64_t>::max()).has_value());
}

TEST(Dequantize, Q4_0HandBuiltBlock) {
  // d = 0.5; qs[j] holds quant j in its low nibble and quant j+16 in its high nibble; value = (q - 8) d.
  std::vector<std::byte> block(18);
  put_u16(block, 0, kF16Half);
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<std::byte>(j | ((15 - j) << 4));
  const auto values = dequantize(DType::Q4_0, block, {32});
  EXPECT_EQ(values[0], -4.0F);
  EXPECT_EQ(values[15], 3.5F);
  EXPECT_EQ(values[16], 3.5F);
  EXPECT_EQ(values[31], -4.0F);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(values[j], (j - 8) * 0.5F);
    EXPECT_EQ(values[j + 16], (7 - j) * 0.5F);
  }
}

TEST(Dequantize, Q5_0HandBuiltBlock) {
  // qh = 0xAAAA5555: the fifth bit is set for even quants 0..15 and odd quants 16..31; value = (q - 16) d.
  std::vector<std::byte> block(22);
  put_u16(block, 0, kF16One);
  const std::uint32_t high_bits = 0xAAAA5555U;
  std::memcpy(block.data() + 2, &high_bits, 4);
  for (int j = 0; j < 16; ++j) block[6 + j] = static_cast<std::byte>(j | (j << 4));
  const auto values = dequantize(DType::Q5_0, block, {32});
  EXPECT_EQ(values[0], 0.0F);    // 0 | 16 - 16
  EXPECT_EQ(values[1], -15.0F);  // 1 - 16
  EXPECT_EQ(values[16], -16.0F);
  EXPECT_EQ(values[17], 1.0F);  // 1 | 16 - 16
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(values[j], static_cast<float>(j + (j % 2 == 0 ? 16 : 0) - 16));
    EXPECT_EQ(values[j + 16], static_cast<float>(j + (j % 2 == 1 ? 16 : 0) - 16));
  }
}

// Sub-block scales and minimums of the K-quant tests; sub-blocks 4..7 need the spare high bits.
constexpr std::array<int, 8> kScales = {1, 2, 3, 4, 17, 33, 49, 63};
constexpr std::array<int, 8> kMins = {0, 1, 2, 3, 20, 40, 60, 63};

// The 12-byte packing of eight 6-bit scales and minimums used by Q4_K and Q5_K.
void pack_k_scales(std::vector<std::byte>& block, std::size_t at) {
  for (int i = 0; i < 4; ++i) {
    block[at + i] = static_cast<std::byte>(kScales[i] | ((kScales[i + 4] >> 4) << 6));
    block[at + 4 + i] = static_cast<std::byte>(kMins[i] | ((kMins[i + 4] >> 4) << 6));
    block[at + 8 + i] = static_cast<std::byte>((kScales[i + 4] & 0x0F) | ((kMins[i + 4] & 0x0F) << 4));
  }
}

// Quants of the K-quant tests: value 64g + l (l < 32) has low nibble l % 16, value 64g + 32 + l has
// high nibble 15 - l % 16 (same byte qs[32g + l]).
int k_quant_nibble(int index) {
  const int l = index % 32;
  return (index % 64) < 32 ? l % 16 : 15 - l % 16;
}

TEST(Dequantize, Q4_KHandBuiltBlock) {
  std::vector<std::byte> block(144);
  put_u16(block, 0, kF16One);   // d
  put_u16(block, 2, kF16Half);  // dmin
  pack_k_scales(block, 4);
  for (int g = 0; g < 4; ++g) {
    for (int l = 0; l < 32; ++l)
      block[16 + 32 * g + l] = static_cast<std::byte>((l % 16) | ((15 - l % 16) << 4));
  }
  const auto values = dequantize(DType::Q4_K, block, {256});
  EXPECT_EQ(values[5], 5.0F);                // sub-block 0: 1 * 5 - 0.5 * 0
  EXPECT_EQ(values[32 + 3], 23.5F);          // sub-block 1: 2 * 12 - 0.5 * 1
  EXPECT_EQ(values[128 + 7], 109.0F);        // sub-block 4: 17 * 7 - 0.5 * 20
  EXPECT_EQ(values[128 + 32 + 1], 442.0F);   // sub-block 5: 33 * 14 - 0.5 * 40
  EXPECT_EQ(values[192 + 10], 460.0F);       // sub-block 6: 49 * 10 - 0.5 * 60
  EXPECT_EQ(values[192 + 32 + 15], -31.5F);  // sub-block 7: 63 * 0 - 0.5 * 63
  for (int i = 0; i < 256; ++i) {
    const int sub = i / 32;
    ASSERT_EQ(values[i], static_cast<float>(kScales[sub] * k_quant_nibble(i)) - 0.5F * kMins[sub]) << i;
  }
}

TEST(Dequantize, Q5_KHandBuiltBlock) {
  std::vector<std::byte> block(176);
  put_u16(block, 0, kF16Half);  // d
  put_u16(block, 2, kF16One);   // dmin
  pack_k_scales(block, 4);
  // qh[l] = 1 << (l % 8): value 64g + l takes bit 2g, value 64g + 32 + l bit 2g + 1.
  for (int l = 0; l < 32; ++l) block[16 + l] = static_cast<std::byte>(1 << (l % 8));
  for (int g = 0; g < 4; ++g) {
    for (int l = 0; l < 32; ++l)
      block[48 + 32 * g + l] = static_cast<std::byte>((l % 16) | ((15 - l % 16) << 4));
  }
  const auto values = dequantize(DType::Q5_K, block, {256});
  EXPECT_EQ(values[0], 8.0F);               // sub-block 0: 0.5 * 1 * (0 + 16) - 0
  EXPECT_EQ(values[1], 0.5F);               // 0.5 * 1 * 1
  EXPECT_EQ(values[32 + 1], 29.0F);         // sub-block 1: 0.5 * 2 * (14 + 16) - 1
  EXPECT_EQ(values[32 + 2], 12.0F);         // sub-block 1: 0.5 * 2 * 13 - 1 (bit 1 of qh[2] is clear)
  EXPECT_EQ(values[192 + 32 + 7], 693.0F);  // sub-block 7: 0.5 * 63 * (8 + 16) - 63 (bit 7 of qh[7])
  for (int i = 0; i < 256; ++i) {
    const int sub = i / 32;
    const int l = i % 32;
    const int fifth_bit = (l % 8) == sub ? 16 : 0;
    ASSERT_EQ(values[i], 0.5F * static_cast<float>(kScales[sub] * (k_quant_nibble(i) + fifth_bit)) -
                             static_cast<float>(kMins[sub]))
        << i;
  }
}

TEST(Dequantize, Q6_KHandBuiltBlock) {
  // Layout: ql[128] low nibbles, qh[64] high 2-bit pairs, int8 scales[16], f16 d. Value n of half h
  // (r = n % 128, quarter = r / 32, l = r % 32) sits in ql[64h + l + 32 * (quarter % 2)] (low nibble for
  // quarters 0-1, high for 2-3) and bits 2 * quarter of qh[32h + l]; value = d * scales[n / 16] * (q - 32).
  std::vector<std::byte> block(210);
  std::array<int, 16> scales{};
  for (int i = 0; i < 16; ++i) scales[i] = i % 2 == 0 ? i + 1 : -(i + 1);
  const auto quant = [](int n) { return (n * 7) % 64; };
  for (int n = 0; n < 256; ++n) {
    const int h = n / 128;
    const int quarter = (n % 128) / 32;
    const int l = n % 32;
    const int q = quant(n);
    auto& low = block[64 * h + l + 32 * (quarter % 2)];
    low |= static_cast<std::byte>(quarter < 2 ? (q & 0x0F) : (q & 0x0F) << 4);
    block[128 + 32 * h + l] |= static_cast<std::byte>((q >> 4) << (2 * quarter));
  }
  for (int i = 0; i < 16; ++i) block[192 + i] = static_cast<std::byte>(static_cast<std::int8_t>(scales[i]));
  put_u16(block, 208, kF16Half);
  const auto values = dequantize(DType::Q6_K, block, {256});
  EXPECT_EQ(values[0], -16.0F);    // 0.5 * 1 * (0 - 32)
  EXPECT_EQ(values[17], -23.0F);   // q = 119 % 64 = 55: 0.5 * -2 * (55 - 32)
  EXPECT_EQ(values[200], 156.0F);  // q = 1400 % 64 = 56: 0.5 * 13 * (56 - 32)
  for (int n = 0; n < 256; ++n) {
    ASSERT_EQ(values[n], 0.5F * static_cast<float>(scales[n / 16]) * static_cast<float>(quant(n) - 32)) << n;
  }
}

TEST(Dequantize, ToBf16RoundsTheF32Values) {
  std::vector<std::byte> bytes(8);
  const std::array<float, 2> source = {1.0F + std::ldexp(1.0F, -8) + std::ldexp(1.0F, -20), -3.0F};
  std::memcpy(bytes.data(), source.data(), 8);
  const TensorView view{"t", DType::F32, {2}, bytes};
  std::vector<std::uint16_t> out(2);
  to_bf16(view, out, "test");
  EXPECT_EQ(out[0], 0x3F81);
  EXPECT_EQ(out[1], 0xC040);
}

TEST(Dequantize, RejectsWrongSizesAndTypes) {
  std::vector<std::byte> bytes(8);
  std::vector<float> out(2);
  test::expect_error(
      [&] {
        to_f32(TensorView{"ids", DType::I32, {2}, bytes}, out, "f.gguf");
      },
      "f.gguf", "ids", "cannot convert I32 to float");
  test::expect_error(
      [&] {
        to_f32(TensorView{"w", DType::F32, {3}, bytes}, out, "f.gguf");
      },
      "f.gguf", "w", "holds 8 bytes, shape needs 12");
  std::vector<float> small(1);
  test::expect_error(
      [&] {
        to_f32(TensorView{"w", DType::F32, {2}, bytes}, small, "f.gguf");
      },
      "f.gguf", "w", "output holds 1 values, tensor has 2");
}

}  // namespace
}  // namespace remedi::io
