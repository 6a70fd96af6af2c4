// `remedi generate-directions` end to end on the default model with the identity editor (no
// training): the dump's shapes, hidden states that change exactly from the edit layer on, identity
// directions equal to the attribute representations, the dump read back with our safetensors reader.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

std::vector<float> values(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorView& view = file.tensor(name);
  EXPECT_EQ(view.dtype, io::DType::F32);
  std::vector<float> out(static_cast<std::size_t>(view.numel()));
  io::to_f32(view, out, file.path());
  return out;
}

TEST(GenerateDirectionsCli, IdentityDumpHasTheSpecShapesAndEditsFromItsLayerOn) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("directions_cli");
  constexpr std::int64_t kEditLayer = 3;
  const auto r =
      test::run_remedi({"generate-directions", "-n", "dirs", "--results-dir", results, "-t", "identity", "-l",
                        "3", "--size", "3", "--batch-size", "2", "-q"});  // two batches, the second one short
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string folder = results + "/dirs/identity/3";
  const auto meta = read_json(folder + "/dump.json");
  EXPECT_EQ(meta["format"], "remedi-directions");
  EXPECT_EQ(meta["layer"], kEditLayer);
  EXPECT_EQ(meta["rows"], "train[5000:5003]");
  EXPECT_FALSE(meta["model"]["fingerprint"].get<std::string>().empty());
  const auto n_layer = meta["model"]["n_layer"].get<std::int64_t>();
  const auto hidden = meta["model"]["hidden_size"].get<std::int64_t>();
  ASSERT_EQ(meta["samples"].size(), 3U);
  EXPECT_EQ(meta["samples"][0]["id"], "5000");
  EXPECT_EQ(meta["samples"][2]["id"], "5002");
  for (const char* key : {"entity", "prompt", "context", "attribute"})
    EXPECT_FALSE(meta["samples"][1][key].get<std::string>().empty()) << key;

  const io::SafetensorsFile file = io::SafetensorsFile::open(folder + "/dump.safetensors");
  const std::int64_t n = 3;
  EXPECT_EQ(file.tensor("directions").shape, (std::vector<std::int64_t>{n, hidden}));
  EXPECT_EQ(file.tensor("attributes").shape, (std::vector<std::int64_t>{n, hidden}));
  EXPECT_EQ(file.tensor("h_entity_pre").shape, (std::vector<std::int64_t>{n, n_layer, hidden}));
  EXPECT_EQ(file.tensor("h_entity_post").shape, (std::vector<std::int64_t>{n, n_layer, hidden}));
  EXPECT_EQ(meta["tensors"]["h_entity_post"], nlohmann::json({n, n_layer, hidden}));

  // The identity editor's direction is the attribute representation itself.
  EXPECT_EQ(values(file, "directions"), values(file, "attributes"));
  const std::vector<float> pre = values(file, "h_entity_pre");
  const std::vector<float> post = values(file, "h_entity_post");
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t l = 0; l < n_layer; ++l) {
      double diff = 0.0;
      for (std::int64_t h = 0; h < hidden; ++h) {
        const auto at = static_cast<std::size_t>((i * n_layer + l) * hidden + h);
        diff = std::max(diff, static_cast<double>(std::abs(pre[at] - post[at])));
      }
      // Blocks before the edit layer see the same input; from it on the entity carries the direction.
      if (l < kEditLayer) {
        EXPECT_EQ(diff, 0.0) << "sample " << i << " layer " << l;
      } else {
        EXPECT_GT(diff, 1e-3) << "sample " << i << " layer " << l;
      }
    }
  }
  std::filesystem::remove_all(results);
}

TEST(GenerateDirectionsCli, BadInputGivesOneLineAndWritesNothing) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("directions_bad");
  const std::vector<std::string> base{"generate-directions", "-n", "bad", "--results-dir", results, "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  expect_one_line_error(with({"-t", "identity", "-l", "3", "--size", "0"}), "--size");
  expect_one_line_error(with({"-t", "identity", "-l", "99", "--size", "2"}), "--layers");
  expect_one_line_error(with({"-l", "3", "--size", "2"}), "--editors-dir");
  // --size and --rows choose the rows two ways: refused by the parser.
  EXPECT_EQ(with({"-t", "identity", "-l", "3", "--size", "2", "--rows", "train[0:2]"}).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(results + "/bad"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
