// The default SmolLM2 GGUF (skipped when not fetched): row 0 of the Q8_0 token embedding against
// the Python `gguf` package's dequantization (fixture from tests/reference/make_gguf_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "test_support.h"

namespace remedi::io {
namespace {

TEST(DefaultModel, TokenEmbeddingRowZeroMatchesPython) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const auto expected =
      nlohmann::json::parse(test::read_file(test::fixture("io/smollm2_token_embd_row0.json")));
  const auto gguf = GgufFile::open(path);
  const TensorView& embedding = gguf.tensor("token_embd.weight");
  EXPECT_EQ(embedding.dtype, DType::Q8_0);
  EXPECT_EQ(embedding.shape, expected["shape"].get<std::vector<std::int64_t>>());
  const std::int64_t width = embedding.shape[1];
  // Rows are whole blocks, so row 0 is the first width / 32 blocks.
  const TensorView row{"token_embd.weight[0]",
                       embedding.dtype,
                       {width},
                       embedding.bytes.first(*dtype_storage_bytes(embedding.dtype, width))};
  std::vector<float> values(static_cast<std::size_t>(width));
  to_f32(row, values, path);
  const auto want = expected["row0"].get<std::vector<float>>();
  ASSERT_EQ(values.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(values[i], want[i], 1e-6 * std::abs(want[i])) << i;

  // The full-tensor path agrees with the row view.
  std::vector<float> all(static_cast<std::size_t>(embedding.numel()));
  to_f32(embedding, all, path);
  EXPECT_TRUE(std::equal(values.begin(), values.end(), all.begin()));
}

}  // namespace
}  // namespace remedi::io
