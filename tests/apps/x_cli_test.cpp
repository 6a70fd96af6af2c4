// `remedi x`: the experiment list of METHOD §9.1, the command lines each experiment expands to with the
// layers of experiments/layers.json (the paper's for GPT-J), the checks made before anything runs,
// and a failing step stopping the run with its command line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(XCli, ListsEveryExperimentOfThePaper) {
  const auto r = test::run_remedi({"x", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  for (const std::string& line : lines(r.out)) names.insert(line.substr(0, line.find('\t')));
  const std::set<std::string> expected = {"train.counterfact",
                                          "train.biosbias",
                                          "train.mcrae",
                                          "eval.gen.counterfact",
                                          "eval.gen.biosbias",
                                          "eval.cls.counterfact",
                                          "eval.cls.biosbias",
                                          "eval.ent.mcrae",
                                          "sweep.gen.counterfact",
                                          "sweep.gen.biosbias",
                                          "sweep.cls.counterfact",
                                          "sweep.cls.biosbias",
                                          "sweep.ent.mcrae",
                                          "dump.counterfact",
                                          "dump.biosbias",
                                          "dump.mcrae",
                                          "dump.all"};
  EXPECT_EQ(names, expected);
}

TEST(XCli, ClassificationRunsTheFourVariantsAtThePapersLayersForGptj) {
  const auto r = test::run_remedi(
      {"x", "run", "eval.cls.counterfact", "--model", "gptj", "--results-dir", "/r", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> commands = lines(r.out);
  ASSERT_EQ(commands.size(), 4U) << r.out;
  for (const std::string& c : commands) {
    EXPECT_TRUE(
        c.starts_with("remedi eval fact-cls -n emnlp_eval_cls_counterfact_gptj -l 1 --entity-layers 26"))
        << c;
  }
  EXPECT_NE(commands[0].find("-e /r/emnlp_editors_counterfact_gptj -m gptj"), std::string::npos)
      << commands[0];
  EXPECT_NE(commands[1].find("-t identity"), std::string::npos) << commands[1];
  EXPECT_NE(commands[2].find("--control-task"), std::string::npos) << commands[2];
  EXPECT_NE(commands[3].find("-e /r/emnlp_editors_counterfact_gptj_random --control-model"),
            std::string::npos)
      << commands[3];
  EXPECT_NE(commands[3].find("models/gptj_random"), std::string::npos) << commands[3];
}

TEST(XCli, SmolLM2UsesTheRecordedLayersAndSmallRows) {
  const auto r = test::run_remedi({"x", "run", "eval.gen.counterfact", "--model", "smollm2", "--small",
                                   "--results-dir", "/r", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> commands = lines(r.out);
  ASSERT_EQ(commands.size(), 3U) << r.out;
  EXPECT_NE(commands[0].find("-e /r/emnlp_editors_counterfact_smollm2 -l 6"), std::string::npos)
      << commands[0];
  EXPECT_NE(commands[1].find("--baseline prefix"), std::string::npos) << commands[1];
  EXPECT_NE(commands[2].find("--baseline replace"), std::string::npos) << commands[2];
  for (const std::string& c : commands) {
    EXPECT_TRUE(c.ends_with("--small")) << c;
    EXPECT_NE(c.find("-b efficacy paraphrase neighborhood generation essence"), std::string::npos) << c;
  }
  const auto train =
      test::run_remedi({"x", "run", "train.counterfact", "--small", "--dry-run", "--results-dir", "/r"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_EQ(train.out,
            "remedi train -n emnlp_editors_counterfact_smollm2 -d counterfact -m smollm2 --device cpu "
            "--results-dir "
            "/r --train-size 400 --max-epochs 4\n");
}

TEST(XCli, RowsDataFilesAndModelPathsReachEveryStep) {
  // A model given as a path names its experiments by its stem; --layer limits training to that layer.
  const auto train = test::run_remedi({"x", "run", "train.counterfact", "--model", "/m/tiny.gguf", "--layer",
                                       "1", "--small", "--train-rows", "train[:24]", "-f", "/d/cf.json",
                                       "--results-dir", "/r", "--dry-run"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_EQ(train.out,
            "remedi train -n emnlp_editors_counterfact_tiny -d counterfact -m /m/tiny.gguf --device cpu "
            "--results-dir /r -f /d/cf.json --rows 'train[:24]' --train-size 400 --max-epochs 4 -l 1\n");
  // --eval-rows replaces --small in every evaluation, the sweeps' included.
  const auto sweep =
      test::run_remedi({"x", "run", "sweep.gen.counterfact", "--model", "/m/tiny.gguf", "--eval-rows",
                        "train[5000:5004]", "--results-dir", "/r", "--dry-run"});
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  EXPECT_TRUE(sweep.out.ends_with("--rows 'train[5000:5004]'\n")) << sweep.out;
  EXPECT_EQ(sweep.out.find("--small"), std::string::npos) << sweep.out;
  // The shared Bias in Bios samples are short: SmolLM2's table entry gives the rows to use.
  const auto bios = test::run_remedi(
      {"x", "run", "eval.gen.biosbias", "--layer", "4", "--small", "--results-dir", "/r", "--dry-run"});
  ASSERT_EQ(bios.exit_code, 0) << bios.err;
  for (const std::string& c : lines(bios.out)) {
    EXPECT_TRUE(
        c.starts_with("remedi eval bias-gen -n emnlp_eval_gen_biosbias_smollm2 -e "
                      "/r/emnlp_editors_biosbias_smollm2 -l 4"))
        << c;
    EXPECT_NE(c.find("--rows 'train[977::2]'"), std::string::npos) << c;
  }
  const auto bios_train =
      test::run_remedi({"x", "run", "train.biosbias", "--results-dir", "/r", "--dry-run"});
  EXPECT_NE(bios_train.out.find("--rows 'train[978::2]+train[:977:4]'"), std::string::npos) << bios_train.out;
}

TEST(XCli, McRaeWithoutTheNormsSaysWhatToPutWhere) {
  const std::string data = test::temp_dir("x_cli_data");
  setenv("REMEDI_DATA", data.c_str(), 1);
  const auto r = test::run_remedi({"x", "run", "train.mcrae", "--layer", "3"});
  unsetenv("REMEDI_DATA");
  expect_one_line_error(r, data + "/mcrae/CONCS_FEATS_concstats_brm.txt");
  EXPECT_NE(r.err.find("mcrae_synthetic.tsv is a synthetic stand-in"), std::string::npos) << r.err;
  std::filesystem::remove_all(data);
}

TEST(XCli, MissingLayersAndInputsStopBeforeAnythingRuns) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  // No layers recorded for NeoX: the message names the table entry and the flag.
  expect_one_line_error(
      test::run_remedi({"x", "run", "eval.gen.counterfact", "--model", "neox", "--dry-run"}),
      "models.neox.counterfact.edit_layer");
  const auto with_layer =
      test::run_remedi({"x", "run", "eval.gen.counterfact", "--model", "neox", "--layer", "3", "--dry-run"});
  EXPECT_EQ(with_layer.exit_code, 0) << with_layer.err;

  const std::string results = test::temp_dir("x_cli");
  // Editors not trained yet.
  const auto no_editors = test::run_remedi({"x", "run", "eval.gen.counterfact", "--results-dir", results});
  expect_one_line_error(no_editors, "remedi x run train.counterfact --model smollm2");
  EXPECT_NE(no_editors.err.find(results + "/emnlp_editors_counterfact_smollm2"), std::string::npos);
  // Weights that cannot be had here: where to put them.
  expect_one_line_error(
      test::run_remedi({"x", "run", "eval.gen.biosbias", "--model", "gptj"}),
      "gptj needs an HF checkpoint folder (config.json, *.safetensors, tokenizer.json) at ");
  expect_one_line_error(test::run_remedi({"x", "run", "nope"}), "'nope' is not an experiment");
  EXPECT_TRUE(std::filesystem::is_empty(results));  // nothing ran
  std::filesystem::remove_all(results);
}

TEST(XCli, AFailingStepStopsTheRunWithItsCommandLine) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("x_cli_run");
  // An editors folder with no editor at layer 2: the first step (eval fact-gen) runs and fails.
  std::filesystem::create_directories(results + "/emnlp_editors_counterfact_smollm2");
  const auto r =
      test::run_remedi({"x", "run", "eval.gen.counterfact", "--layer", "2", "--results-dir", results});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("== x eval.gen.counterfact step 1/3: remedi eval fact-gen"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("step 1 failed (exit code 2): remedi eval fact-gen"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("step 2/3"), std::string::npos) << r.err;  // stopped there
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
