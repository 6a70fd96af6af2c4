// Import of the original REMEDI's weights.pth editors, against editors and directions written by
// PyTorch itself (tests/reference/make_pth_fixtures.py).
#include "remedi/pth_import.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "io/expect_error.h"
#include "lm/model.h"
#include "lm/reference.h"
#include "remedi/editor_file.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi {
namespace {

class PthImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = lm::CausalLM::load(test::fixture("lm/gpt2")).release();
    expected_ = new std::map<std::string, torch::Tensor>(
        test::load_reference(test::fixture("remedi/original/expected.safetensors")));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete expected_;
    model_ = nullptr;
    expected_ = nullptr;
  }
  static std::string original(const std::string& type, int layer) {
    return test::fixture("remedi/original/" + type + "/" + std::to_string(layer) + "/weights.pth");
  }
  static torch::Tensor direction(Editor& editor) {
    torch::NoGradGuard no_grad;
    return editor.forward(torch::Tensor(), expected_->at("attribute"));
  }
  static lm::CausalLM* model_;
  static std::map<std::string, torch::Tensor>* expected_;
};
lm::CausalLM* PthImportTest::model_ = nullptr;
std::map<std::string, torch::Tensor>* PthImportTest::expected_ = nullptr;

TEST_F(PthImportTest, EditorsComputeWhatPyTorchComputed) {
  for (const auto& [type, layer] :
       std::vector<std::pair<std::string, int>>{{"linear", 1}, {"linear", 2}, {"mlp", 1}}) {
    const auto editor = import_pth_editor(original(type, layer), type, layer, *model_);
    EXPECT_EQ(editor->config().layer, layer);
    const torch::Tensor want = expected_->at("direction." + type + "." + std::to_string(layer));
    EXPECT_TRUE(torch::allclose(direction(*editor), want, 1e-5, 1e-5)) << type << "/" << layer;
  }
}

TEST_F(PthImportTest, RandomEditorTakesTheDiagonalOfTheOriginalsVariance) {
  const auto editor = import_pth_editor(original("random", 1), "random", 1, *model_);
  std::map<std::string, torch::Tensor> state;
  for (const auto& [name, value] : editor_state(*editor)) state[name] = value;
  EXPECT_TRUE(torch::equal(state.at("mean"), expected_->at("random.mean")));
  EXPECT_TRUE(torch::equal(state.at("variance"), expected_->at("random.variance")));
}

TEST_F(PthImportTest, StateDictReadsEveryTensorAsFloat32) {
  const auto tensors = read_torch_state_dict(original("linear", 2));  // saved in float16
  ASSERT_EQ(tensors.size(), 2U);
  EXPECT_EQ(tensors.at("w.weight").sizes(), torch::IntArrayRef({64, 64}));
  EXPECT_EQ(tensors.at("w.bias").scalar_type(), torch::kFloat32);
}

TEST_F(PthImportTest, RefusesWrongTypeLayerAndForeignFiles) {
  test::expect_error_containing([&] { import_pth_editor(original("linear", 1), "mlp", 1, *model_); },
                                original("linear", 1), "mlp.0.weight", "missing");
  test::expect_error_containing([&] { import_pth_editor(original("linear", 1), "linear", 3, *model_); },
                                original("linear", 1), "layer", "outside");
  // A pickle naming os.system is refused before anything is built.
  const std::string evil = test::fixture("remedi/evil/linear/1/weights.pth");
  try {
    read_torch_state_dict(evil);
    ADD_FAILURE() << "the evil pickle was accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.reason().find("refused global"), std::string::npos) << e.what();
    EXPECT_NE(e.reason().find("system"), std::string::npos) << e.what();
  }
  const std::string text = test::temp_dir("pth") + "/weights.pth";
  std::ofstream(text) << "not a zip";
  test::expect_error_containing([&] { read_torch_state_dict(text); }, text, "",
                                "not a torch.save zip archive");
}

TEST_F(PthImportTest, FindsEveryEditorOfAFolderAndImportsThemAll) {
  const std::vector<PthEditorFile> found = find_pth_editors(test::fixture("remedi/original"));
  ASSERT_EQ(found.size(), 4U);  // sorted by type, then layer
  EXPECT_EQ(found[0].type + "/" + std::to_string(found[0].layer), "linear/1");
  EXPECT_EQ(found[1].type + "/" + std::to_string(found[1].layer), "linear/2");
  EXPECT_EQ(found[2].type + "/" + std::to_string(found[2].layer), "mlp/1");
  EXPECT_EQ(found[3].type + "/" + std::to_string(found[3].layer), "random/1");
  EXPECT_EQ(found[1].path, original("linear", 2));
  const std::string out = test::temp_dir("pth_lib");
  const std::vector<std::string> folders = import_pth_editors(found, out, *model_);
  ASSERT_EQ(folders.size(), 4U);
  EXPECT_EQ(folders[2], editor_folder(out, "mlp", 1));
  const auto mlp = load_editor(folders[2], *model_);
  EXPECT_TRUE(torch::allclose(direction(*mlp), expected_->at("direction.mlp.1"), 1e-5, 1e-5));
  EXPECT_EQ(test::read_json(folders[2] + "/editor.json")["training"]["imported_from"],
            std::filesystem::absolute(original("mlp", 1)).string());
  std::filesystem::remove_all(out);
  test::expect_error_containing(
      [] { find_pth_editors(test::fixture("remedi/original/linear/1/weights.pth")); },
      test::fixture("remedi/original/linear/1/weights.pth"), "", "not a folder");
  test::expect_error_containing([] { find_pth_editors(test::fixture("lm")); }, test::fixture("lm"), "",
                                "no <type>/<layer>/weights.pth");
}

TEST_F(PthImportTest, CliImportsAFolderAndRefusesAnEvilOneWritingNothing) {
  const std::string out = test::temp_dir("pth_cli");
  const auto ok = test::run_remedi({"import-editors", test::fixture("remedi/original"), "-o", out + "/ok",
                                    "-m", test::fixture("lm/gpt2")});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto loaded = load_editor(editor_folder(out + "/ok", "linear", 1), *model_);
  EXPECT_TRUE(torch::allclose(direction(*loaded), expected_->at("direction.linear.1"), 1e-5, 1e-5));
  EXPECT_TRUE(std::filesystem::exists(out + "/ok/mlp/1/editor.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/ok/random/1/editor.json"));

  const auto bad = test::run_remedi(
      {"import-editors", test::fixture("remedi/evil"), "-o", out + "/bad", "-m", test::fixture("lm/gpt2")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("refused global"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/bad"));
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace remedi
