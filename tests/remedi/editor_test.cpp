// Editor types (METHOD §6.2): shapes, formulas with their own parameters, state-dict names, seeded
// initialisation, and the editor files (save/load round trip, refusals).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "io/expect_error.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "test_support.h"

namespace remedi {
namespace {

constexpr std::int64_t kHidden = 8;

EditorConfig config_of(const std::string& type) {
  EditorConfig config;
  config.type = type;
  config.layer = 1;
  config.hidden_size = kHidden;
  return config;
}

std::vector<std::string> state_names(const Editor& editor) {
  std::vector<std::string> names;
  for (const auto& [name, value] : editor_state(editor)) names.push_back(name);
  return names;
}

TEST(EditorTest, EveryTypeMapsInputsToOneDirectionPerRow) {
  const torch::Tensor entity = torch::randn({5, kHidden});
  const torch::Tensor attribute = torch::randn({5, kHidden});
  for (const std::string& type : editor_types()) {
    const auto editor = make_editor(config_of(type), 1);
    EXPECT_EQ(editor->forward(entity, attribute).sizes(), (std::vector<std::int64_t>{5, kHidden})) << type;
  }
}

TEST(EditorTest, StateNamesAreTheOriginalKeys) {
  EXPECT_EQ(state_names(*make_editor(config_of("linear"), 1)),
            (std::vector<std::string>{"w.weight", "w.bias"}));
  EditorConfig ranked = config_of("linear");
  ranked.rank = 3;
  EXPECT_EQ(state_names(*make_editor(ranked, 1)),
            (std::vector<std::string>{"w.0.weight", "w.0.bias", "w.1.weight", "w.1.bias"}));
  EXPECT_EQ(state_names(*make_editor(config_of("biaffine"), 1)),
            (std::vector<std::string>{"w_entity.weight", "w_entity.bias", "w_attribute.weight",
                                      "w_attribute.bias"}));
  EXPECT_EQ(state_names(*make_editor(config_of("mlp"), 1)),
            (std::vector<std::string>{"mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias"}));
  EXPECT_EQ(state_names(*make_editor(config_of("scalar"), 1)),
            (std::vector<std::string>{"scalar.weight", "scalar.bias"}));
  EXPECT_EQ(state_names(*make_editor(config_of("random"), 1)),
            (std::vector<std::string>{"mean", "variance"}));
  EXPECT_TRUE(state_names(*make_editor(config_of("identity"), 1)).empty());
}

TEST(EditorTest, FormulasUseTheirParameters) {
  torch::NoGradGuard no_grad;
  const torch::Tensor e = torch::randn({2, kHidden});
  const torch::Tensor a = torch::randn({2, kHidden});
  auto linear = make_editor(config_of("linear"), 3);
  auto p = linear->named_parameters();
  EXPECT_TRUE(torch::allclose(linear->forward(e, a), torch::matmul(a, p["w.weight"].t()) + p["w.bias"]));

  EditorConfig with_entity = config_of("linear");
  with_entity.use_entity = true;
  auto both = make_editor(with_entity, 3);
  p = both->named_parameters();
  EXPECT_EQ(p["w.weight"].sizes(), (std::vector<std::int64_t>{kHidden, 2 * kHidden}));
  EXPECT_TRUE(torch::allclose(both->forward(e, a),
                              torch::matmul(torch::cat({e, a}, 1), p["w.weight"].t()) + p["w.bias"]));

  auto biaffine = make_editor(config_of("biaffine"), 3);
  p = biaffine->named_parameters();
  EXPECT_TRUE(torch::allclose(biaffine->forward(e, a),
                              torch::matmul(e, p["w_entity.weight"].t()) + p["w_entity.bias"] +
                                  torch::matmul(a, p["w_attribute.weight"].t()) + p["w_attribute.bias"]));
  auto mlp = make_editor(config_of("mlp"), 3);
  p = mlp->named_parameters();
  const torch::Tensor hidden = torch::matmul(a, p["mlp.0.weight"].t()) + p["mlp.0.bias"];
  const torch::Tensor leaky = torch::where(hidden > 0, hidden, 0.01 * hidden);
  EXPECT_TRUE(
      torch::allclose(mlp->forward(e, a), torch::matmul(leaky, p["mlp.2.weight"].t()) + p["mlp.2.bias"]));

  auto scalar = make_editor(config_of("scalar"), 3);
  p = scalar->named_parameters();
  EXPECT_TRUE(torch::allclose(scalar->forward(e, a),
                              (torch::matmul(a, p["scalar.weight"].t()) + p["scalar.bias"]) * a));
  EXPECT_TRUE(torch::equal(make_editor(config_of("identity"), 3)->forward(e, a), a));
  EXPECT_TRUE(torch::equal(make_editor(config_of("null"), 3)->forward(e, a), torch::zeros_like(a)));
}

TEST(EditorTest, InitialisationIsPyTorchDefaultAndSeeded) {
  const auto first = make_editor(config_of("linear"), 42);
  const auto again = make_editor(config_of("linear"), 42);
  const auto other = make_editor(config_of("linear"), 43);
  const torch::Tensor w = first->named_parameters()["w.weight"];
  EXPECT_TRUE(torch::equal(w, again->named_parameters()["w.weight"]));
  EXPECT_FALSE(torch::equal(w, other->named_parameters()["w.weight"]));
  const double bound = 1.0 / std::sqrt(static_cast<double>(kHidden));
  EXPECT_LE(w.abs().max().item<double>(), bound);
  EXPECT_GT(w.abs().max().item<double>(), 0.5 * bound);
}

TEST(EditorTest, RandomEditorSamplesTheFittedGaussian) {
  auto editor = make_editor(config_of("random"), 5);
  const torch::Tensor deltas = torch::randn({400, kHidden}) * 2.0 + 3.0;
  editor->fit(deltas);
  const torch::Tensor samples = editor->forward(torch::Tensor(), torch::zeros({4000, kHidden}));
  EXPECT_NEAR(samples.mean().item<double>(), deltas.mean().item<double>(), 0.1);
  EXPECT_NEAR(samples.std().item<double>(), deltas.std().item<double>(), 0.15);
}

TEST(EditorTest, RejectsBadConfigurations) {
  test::expect_error_containing([] { make_editor(config_of("quadratic"), 1); }, "<argument>",
                                "--editor-types", "quadratic");
  EditorConfig none = config_of("linear");
  none.use_attribute = false;
  test::expect_error_containing([&] { make_editor(none, 1); }, "<argument>", "--editor-types", "needs");
  EditorConfig ranked = config_of("mlp");
  ranked.rank = 2;
  test::expect_error_containing([&] { make_editor(ranked, 1); }, "<argument>", "--rank", "only the linear");
}

class EditorFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = lm::CausalLM::load(test::fixture("lm/gpt2"));
    dir_ = test::temp_dir("editor_file");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  EditorConfig model_config(const std::string& type) {
    EditorConfig config = config_of(type);
    config.hidden_size = model_->config().hidden_size;
    return config;
  }
  std::unique_ptr<lm::CausalLM> model_;
  std::string dir_;
};

TEST_F(EditorFileTest, SaveLoadRoundTripForEveryType) {
  for (const std::string& type : editor_types()) {
    EditorConfig config = model_config(type);
    config.edit_last_entity_token = false;
    const auto editor = make_editor(config, 9);
    const std::string folder = editor_folder(dir_, type, 1);
    save_editor(*editor, folder, *model_, {{"note", "test"}});
    const auto loaded = load_editor(folder, *model_);
    EXPECT_EQ(loaded->config().type, type);
    EXPECT_FALSE(loaded->config().edit_last_entity_token);
    const auto saved_state = editor_state(*editor);
    const auto loaded_state = editor_state(*loaded);
    ASSERT_EQ(saved_state.size(), loaded_state.size());
    for (std::size_t i = 0; i < saved_state.size(); ++i) {
      EXPECT_TRUE(torch::equal(saved_state[i].second, loaded_state[i].second))
          << type << " " << saved_state[i].first;
    }
    EXPECT_EQ(saved_layers(dir_, type), (std::vector<std::int64_t>{1}));
  }
}

TEST_F(EditorFileTest, RefusesAnEditorOfAnotherModel) {
  const auto editor = make_editor(model_config("linear"), 9);
  const std::string folder = editor_folder(dir_, "linear", 1);
  save_editor(*editor, folder, *model_);
  // same family, width and depth, other weights
  const auto other = lm::CausalLM::load(test::fixture("lm/gptj"));
  ASSERT_EQ(other->config().hidden_size, model_->config().hidden_size);
  test::expect_error_containing([&] { load_editor(folder, *other); }, folder + "/editor.json",
                                "model.fingerprint", "trained on model gpt2-3x64");
}

TEST_F(EditorFileTest, FingerprintIgnoresTheFileFormat) {
  // the GGUF and safetensors forms of the fixture hold the same F32 values
  const auto gguf = lm::CausalLM::load(test::fixture("lm/gpt2/model.gguf"));
  EXPECT_EQ(model_fingerprint(*gguf), model_fingerprint(*model_));
}

TEST_F(EditorFileTest, RefusesIncompleteOrMalformedFolders) {
  test::expect_error_containing([&] { load_editor(dir_ + "/linear/3", *model_); },
                                dir_ + "/linear/3/editor.json", "", "no saved editor");
  const std::string folder = editor_folder(dir_, "linear", 1);
  save_editor(*make_editor(model_config("linear"), 9), folder, *model_);
  std::filesystem::remove(folder + "/editor.safetensors");
  test::expect_error_containing([&] { load_editor(folder, *model_); }, folder + "/editor.safetensors", "",
                                "missing");
  test::write_file(folder + "/editor.json", "{\"format\": \"remedi-editor\", \"version\": 1, \"type\": 3}");
  test::expect_error_containing([&] { load_editor(folder, *model_); }, folder + "/editor.json", "type",
                                "wrong type");
  // What make_editor refuses is named by editor.json's field, not by a command-line flag.
  save_editor(*make_editor(model_config("linear"), 9), folder, *model_);
  nlohmann::json sidecar = test::read_json(folder + "/editor.json");
  sidecar["type"] = "bogus";
  test::write_file(folder + "/editor.json", sidecar.dump());
  test::expect_error_containing([&] { load_editor(folder, *model_); }, folder + "/editor.json", "type",
                                "unknown editor type 'bogus'");
  sidecar["type"] = "mlp";
  sidecar["options"]["rank"] = 2;
  test::write_file(folder + "/editor.json", sidecar.dump());
  test::expect_error_containing([&] { load_editor(folder, *model_); }, folder + "/editor.json",
                                "options.rank", "only the linear editor has a rank");
}

TEST_F(EditorFileTest, RefusesALayerOtherThanItsFolderAndNonFiniteWeights) {
  const std::string folder = editor_folder(dir_, "linear", 1);
  save_editor(*make_editor(model_config("linear"), 9), folder, *model_);
  std::filesystem::create_directories(dir_ + "/linear/2");
  std::filesystem::copy(folder, dir_ + "/linear/2", std::filesystem::copy_options::recursive);
  test::expect_error_containing([&] { load_editor(dir_ + "/linear/2", *model_); },
                                dir_ + "/linear/2/editor.json", "layer", "1 but the editor's folder is 2");
  // NaN weights, as a diverged training run would save them
  const auto diverged = make_editor(model_config("linear"), 9);
  {
    torch::NoGradGuard no_grad;
    editor_state(*diverged).front().second.fill_(std::nanf(""));
  }
  save_editor(*diverged, folder, *model_);
  test::expect_error_containing([&] { load_editor(folder, *model_); }, folder + "/editor.safetensors",
                                editor_state(*diverged).front().first, "NaN or infinite");
}

}  // namespace
}  // namespace remedi
