// Model names and paths (src/lm/model_path.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "lm/model_path.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi::lm {
namespace {

TEST(ModelPath, AFolderHoldingModelGgufNamesThatFile) {
  const std::string dir = test::temp_dir("model_path");
  // random-init-model's copy of a GGUF model: <folder>/model.gguf, no config.json.
  std::filesystem::copy_file(test::fixture("lm/llama_gqa/model.gguf"), dir + "/model.gguf");
  EXPECT_EQ(resolve_model_path(dir), dir + "/model.gguf");
  // An HF folder stays a folder, even with a .gguf beside its config.json.
  const std::string hf = test::fixture("lm/llama_gqa");
  EXPECT_EQ(resolve_model_path(hf), hf);
  EXPECT_THROW(resolve_model_path(dir + "/nope"), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi::lm
