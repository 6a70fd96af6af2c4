// What a model file holds (lm/model_info.h), read from the headers of the tiny fixtures: the counts
// are derived here from the architecture by hand.
#include "lm/model_info.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

TEST(ModelInfo, HfFolderOfTheTinyGpt2) {
  const std::string folder = test::fixture("lm/gpt2");
  const ModelFileInfo info = inspect_model_file(folder);
  EXPECT_EQ(info.format, "safetensors (1 file)");
  EXPECT_EQ(info.config.family, Family::GPT2);
  EXPECT_EQ(info.config.n_layer, 3);
  EXPECT_EQ(info.config.hidden_size, 64);
  // Per block (H = 64): two LayerNorms 4H, c_attn H x 3H + 3H, c_proj H x H + H, c_fc H x 4H + 4H,
  // mlp c_proj 4H x H + H; then wte 300 x H, wpe 128 x H and ln_f 2H.
  const std::int64_t h = 64;
  const std::int64_t block =
      4 * h + (3 * h * h + 3 * h) + (h * h + h) + (4 * h * h + 4 * h) + (4 * h * h + h);
  EXPECT_EQ(info.total_parameters, 3 * block + 300 * h + 128 * h + 2 * h);
  EXPECT_EQ(info.tensors.size(), 40U);  // 12 per block, wte, wpe, ln_f weight and bias
  EXPECT_EQ(info.tensors_per_dtype, (std::map<std::string, std::int64_t>{{"F32", 40}}));
  EXPECT_EQ(info.file_size, std::filesystem::file_size(folder + "/model.safetensors"));
  EXPECT_TRUE(info.metadata.empty());

  const nlohmann::ordered_json json =
      model_file_info_json(info, /*with_tensors=*/true, /*with_metadata=*/false);
  EXPECT_EQ(json["architecture"], "gpt2");
  EXPECT_EQ(json["total_parameters"], info.total_parameters);
  EXPECT_TRUE(json["rope_theta"].is_null());  // GPT-2 has no rotary embedding
  EXPECT_FALSE(json.contains("metadata"));
  ASSERT_EQ(json["tensors"].size(), 40U);
  for (const auto& t : json["tensors"]) {
    if (t["name"] == "transformer.wte.weight") {
      EXPECT_EQ(t["shape"], nlohmann::json::array({300, 64}));
    }
  }
}

TEST(ModelInfo, GgufKeepsItsMetadataAndStorageTypes) {
  const std::string file = test::fixture("lm/llama_gqa/model-q8_0.gguf");
  const ModelFileInfo info = inspect_model_file(file);
  EXPECT_EQ(info.format.rfind("GGUF v", 0), 0U) << info.format;
  EXPECT_EQ(info.config.family, Family::Llama);
  EXPECT_EQ(info.metadata.at("general.architecture"), "\"llama\"");  // display strings quote
  EXPECT_GT(info.tensors_per_dtype.at("Q8_0"), 0);
  EXPECT_EQ(info.file_size, std::filesystem::file_size(file));
  EXPECT_TRUE(model_file_info_json(info, false, true).contains("metadata"));
}

// `remedi inspect` on the newer families, folder and GGUF: the tensors the files hold are the
// parameters the family's table counts (the tied ones hold no head).
TEST(ModelInfo, NewerFamiliesCountWhatTheirFilesHold) {
  for (const std::string name : {"qwen2", "qwen3", "olmo2", "gemma2", "gemma3", "phi3"}) {
    SCOPED_TRACE(name);
    const std::string folder = test::fixture("lm/" + name);
    std::vector<std::string> paths{folder};
    if (std::filesystem::exists(folder + "/model.gguf")) paths.push_back(folder + "/model.gguf");
    for (const std::string& path : paths) {
      const ModelFileInfo info = inspect_model_file(path);
      EXPECT_EQ(info.config.family.name, name);
      EXPECT_EQ(info.total_parameters, parameter_count(info.config)) << path;
      EXPECT_EQ(model_file_info_json(info, false, false)["architecture"], name);
    }
  }
}

TEST(ModelInfo, RefusesWhatIsNotAModel) {
  const std::string missing = test::fixture("lm/absent");
  test::expect_error_containing([&] { inspect_model_file(missing); }, missing, "", "no such file or folder");
  const std::string config = test::fixture("lm/gpt2/config.json");
  test::expect_error_containing([&] { inspect_model_file(config); }, config, "", "expected a .gguf file");
}

}  // namespace
}  // namespace remedi::lm
