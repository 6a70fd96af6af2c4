// evaluate::generate_directions (METHOD §8.13) on the tiny GPT-2 fixture with the identity editor: the
// dump read back equals plain forwards (the attribute representation, the entity's state after every
// block) and the edit adds exactly the direction at its layer's output, changing nothing before it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "data/sample.h"
#include "evaluate/directions.h"
#include "evaluate/forward_checks.h"
#include "io/expect_error.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace remedi {
namespace {

constexpr std::int64_t kEditLayer = 1;

torch::Tensor read_tensor(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorView& view = file.tensor(name);
  torch::Tensor out = torch::empty(view.shape, torch::kFloat32);
  io::to_f32(view, std::span<float>(out.data_ptr<float>(), static_cast<std::size_t>(out.numel())),
             file.path());
  return out;
}

evaluate::DirectionsOptions tiny_options(const std::string& folder) {
  evaluate::DirectionsOptions o;
  test::tiny_run(o, "gd", folder, {kEditLayer}, test::write_tiny_counterfact(folder), 2);
  o.data.split = "train[2:5]";  // two batches, the second one short
  return o;
}

TEST(DirectionsEvaluation, DumpEqualsPlainForwardsAndTheEditAddsTheDirection) {
  const std::string folder = test::temp_dir("evaluate_directions");
  const evaluate::DirectionsOptions options = tiny_options(folder);
  const lm::LoadedModel& model = test::tiny_gpt2();
  const evaluate::DirectionsResults results = evaluate::generate_directions(model, options);
  EXPECT_EQ(results.rows, "train[2:5]");
  ASSERT_EQ(results.samples, 3U);
  ASSERT_EQ(results.dumps.size(), 1U);
  const std::string dump = results.dumps.at(kEditLayer);
  EXPECT_EQ(dump, folder + "/gd/identity/1/dump.safetensors");
  const nlohmann::json sidecar = test::read_json(folder + "/gd/identity/1/dump.json");
  EXPECT_EQ(sidecar["rows"], "train[2:5]");
  EXPECT_EQ(sidecar["layer"], kEditLayer);
  EXPECT_EQ(sidecar["tensors"]["h_entity_post"], nlohmann::json({3, 3, 64}));

  const io::SafetensorsFile file = io::SafetensorsFile::open(dump);
  const torch::Tensor directions = read_tensor(file, "directions");
  const torch::Tensor attributes = read_tensor(file, "attributes");
  const torch::Tensor pre = read_tensor(file, "h_entity_pre");
  const torch::Tensor post = read_tensor(file, "h_entity_post");
  EXPECT_TRUE(torch::equal(directions, attributes));  // the identity editor
  const std::vector<data::MediationSample> samples =
      evaluate::load_samples({"counterfact", options.data.file, "train[2:5]", "", options.data.seed});
  for (std::int64_t i = 0; i < 3; ++i) {
    const data::MediationSample& s = samples[static_cast<std::size_t>(i)];
    EXPECT_EQ(sidecar["samples"][i]["id"], s.id);
    EXPECT_TRUE(torch::allclose(directions[i], test::mean_over(model, s.context, s.attribute, kEditLayer),
                                1e-4, 1e-4));
    for (std::int64_t l = 0; l < 3; ++l) {
      const torch::Tensor h = test::last_token_state(model, s.prompt, s.entity, 0, l);
      EXPECT_TRUE(torch::allclose(pre[i][l], h, 1e-4, 1e-4)) << i << " " << l;
    }
    // Before the edit layer nothing changes; its output carries h + d; later blocks differ.
    EXPECT_TRUE(torch::equal(post[i][0], pre[i][0]));
    EXPECT_TRUE(torch::allclose(post[i][kEditLayer], pre[i][kEditLayer] + directions[i], 1e-5, 1e-5));
    EXPECT_GT((post[i][2] - pre[i][2]).abs().max().item<double>(), 1e-3);
  }
  const nlohmann::json summary = results.summary("identity");
  EXPECT_EQ(summary["dumps"]["1"], dump);
  EXPECT_EQ(summary["samples"], 3);
  std::filesystem::remove_all(folder);
}

TEST(DirectionsEvaluation, RowsDefaultToTheSizeFromRow5000) {
  evaluate::DirectionsOptions options;
  options.size = 3;
  EXPECT_EQ(evaluate::directions_rows(options), "train[5000:5003]");
  options.small = true;
  EXPECT_EQ(evaluate::directions_rows(options), "train[5000:6000]");
  options.data.split = "train[:2]";
  EXPECT_EQ(evaluate::directions_rows(options), "train[:2]");
}

TEST(DirectionsEvaluation, BadOptionsNameTheirFlagAndWriteNothing) {
  const std::string folder = test::temp_dir("evaluate_directions_bad");
  evaluate::DirectionsOptions options = tiny_options(folder);
  options.size = 0;
  test::expect_error([&] { evaluate::generate_directions(test::tiny_gpt2(), options); }, "<argument>",
                     "--size", "must be at least 1");
  options = tiny_options(folder);
  options.data.split.clear();  // rows [5000, 6000) of an eight-row file
  test::expect_error([&] { evaluate::generate_directions(test::tiny_gpt2(), options); }, "<argument>",
                     "--size", "selects no samples");
  options = tiny_options(folder);
  options.layers = {3};
  test::expect_error_containing([&] { evaluate::generate_directions(test::tiny_gpt2(), options); },
                                "<argument>", "--layers", "outside the model's layers");
  EXPECT_FALSE(std::filesystem::exists(folder + "/gd"));
  std::filesystem::remove_all(folder);
}

TEST(DirectionsEvaluation, ABadSampleIsNamedByItsFile) {
  // A -d samples row whose attribute is not in its context: the error names the file, not "<data>".
  const std::string folder = test::temp_dir("evaluate_directions_bad_sample");
  evaluate::DirectionsOptions options = tiny_options(folder);
  std::vector<data::MediationSample> rows = evaluate::load_samples(options.data);
  rows[1].attribute = "is on mars";
  const std::string file = folder + "/bad_samples.jsonl";
  data::write_samples(file, rows);
  options.data = {"samples", file, "train[:3]", "", options.data.seed};
  test::expect_error_containing([&] { evaluate::generate_directions(test::tiny_gpt2(), options); }, file,
                                "sample " + rows[1].id + " attribute", "\"is on mars\" has no occurrence");
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
