// REMEDI on every newer model family end to end (issue 21): on each family's fixture model (tests/
// fixtures/lm/<family>, random weights written by transformers, with the fixtures' GPT-2 tokenizer),
// `remedi train` lowers the training loss, `remedi edit` with the trained editor moves the next-token
// distribution, and `remedi eval-fact-gen` writes its records. Layer 0: the fixtures have 2 or 3
// blocks, and an edit after the last block cannot reach the prompt's last token; a short prompt: the
// Phi-3 fixture's sliding window is 6 tokens, and the fixtures' tokenizer splits words into letters.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace remedi {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

class FamiliesCli : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("families_cli_") + GetParam());
    model_ = dir_ + "/model";
    std::filesystem::create_directories(model_);
    for (const char* file : {"config.json", "model.safetensors"}) {
      std::filesystem::copy_file(test::fixture(std::string("lm/") + GetParam() + "/" + file),
                                 model_ + "/" + file);
    }
    std::filesystem::copy_file(test::fixture("lm/tokenizer.json"), model_ + "/tokenizer.json");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::string model_;
};

TEST_P(FamiliesCli, TrainEditAndEvaluate) {
  // the training flags: 24 rows, batches of 8, four epochs without early stopping
  const std::vector<std::string> train = {"train",     "-n",
                                          "f",         "-m",
                                          model_,      "--results-dir",
                                          dir_ + "/r", "-l",
                                          "0",         "--train-size",
                                          "24",        "--batch-size",
                                          "8",         "--max-epochs",
                                          "4",         "--patience",
                                          "99",        "--lr",
                                          "1e-2",      "--seed",
                                          "5",         "-q"};
  const auto trained = test::run_remedi(train);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const nlohmann::json epochs = read_json(dir_ + "/r/f/linear/0/editor.json")["training"]["report"]["epochs"];
  ASSERT_EQ(epochs.size(), 5U);  // epoch 0 measures, 1..4 train
  EXPECT_LT(epochs.back()["train_loss"].get<double>(), epochs.front()["train_loss"].get<double>());

  const auto edited =
      test::run_remedi({"edit", "-m", model_, "-e", dir_ + "/r/f", "-l", "0", "--entity", "Danielle Darrieux",
                        "--context", "Danielle Darrieux is a native speaker of English", "--prompt",
                        "Danielle Darrieux is", "--max-new-tokens", "4", "--json"});
  ASSERT_EQ(edited.exit_code, 0) << edited.err;
  const nlohmann::json edit = nlohmann::json::parse(edited.out);
  const double norm = edit["direction_norm"].get<double>();
  EXPECT_TRUE(std::isfinite(norm) && norm > 0) << norm;
  double moved = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    moved = std::max(moved, std::abs(edit["before"]["top_tokens"][i]["prob"].get<double>() -
                                     edit["after"]["top_tokens"][i]["prob"].get<double>()));
  }
  // Unedited and edited passes are otherwise the same computation, so any difference is the edit's (the
  // trained directions are small beside Gemma's sqrt(d)-scaled states: 2e-6 there, 1e-2 elsewhere).
  EXPECT_GT(moved, 0.0) << "the edit did not change the next-token distribution";

  const auto evaluated = test::run_remedi({"eval-fact-gen", "-m", model_, "-e", dir_ + "/r/f", "-l", "0",
                                           "--rows", "train[5000:5008]", "-b", "efficacy", "paraphrase",
                                           "--results-dir", dir_ + "/ev", "-n", "e"});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  for (const char* benchmark : {"efficacy", "paraphrase"}) {
    const nlohmann::json metrics = read_json(dir_ + "/ev/e/linear/0/" + benchmark + "_metrics.json");
    EXPECT_TRUE(metrics.is_object() && !metrics.empty()) << benchmark;
  }
}

INSTANTIATE_TEST_SUITE_P(NewerFamilies, FamiliesCli,
                         ::testing::Values("qwen2", "qwen3", "olmo2", "gemma2", "gemma3", "phi3"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace remedi
