// The paper's experiments as command lines (evaluate/experiments.h) with a layer table written here:
// the steps each experiment plans, where the table's layers and rows and the options' overrides go,
// the control model's folder, the quoting of printed command lines, and the errors naming the table
// field or the experiment.
#include "evaluate/experiments.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "lm/model_path.h"
#include "test_support.h"

namespace remedi::evaluate {
namespace {

namespace fs = std::filesystem;

using Args = std::vector<std::string>;

class ExperimentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir("experiments");
    test::write_file(dir_ + "/layers.json", R"({"models": {
      "m": {"counterfact": {"edit_layer": 3, "entity_layer": 7, "eval_rows": "train[:40]"},
            "biosbias": {"edit_layer": 2, "entity_layer": null, "train_rows": "train[:90]"}},
      "/models/tiny.gguf": {"counterfact": {"edit_layer": 1}}}})");
    ::setenv("REMEDI_EXPERIMENTS", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("REMEDI_EXPERIMENTS");
    fs::remove_all(dir_);
  }
  static ExperimentOptions options(const std::string& name, const std::string& model = "m") {
    ExperimentOptions o;
    o.name = name;
    o.model = model;
    o.results = "/r";
    return o;
  }
  std::string dir_;
};

TEST_F(ExperimentsTest, ListsMethodsExperimentsInOrder) {
  ASSERT_EQ(experiments().size(), 17U);
  EXPECT_EQ(experiments().front().name, "train.counterfact");
  EXPECT_EQ(experiments().back().name, "dump.all");
  EXPECT_EQ(layer_table_file(), dir_ + "/layers.json");
}

TEST_F(ExperimentsTest, ClassificationPlansTheFourVariantsWithTheTablesLayersAndRows) {
  const std::vector<ExperimentStep> steps = plan_experiment(options("eval.cls.counterfact"));
  ASSERT_EQ(steps.size(), 4U);
  const Args base = {"eval", "fact-cls",        "-n", "emnlp_eval_cls_counterfact_m", "-l",
                     "3",    "--entity-layers", "7"};
  const Args common = {"-m", "m", "--device", "cpu", "--results-dir", "/r", "--rows", "train[:40]"};
  const auto join = [](Args a, const Args& b, const Args& c) {
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    return a;
  };
  const std::string editors = "/r/emnlp_editors_counterfact_m";
  EXPECT_EQ(steps[0].args, join(base, {"-e", editors}, common));
  EXPECT_EQ(steps[0].editors, editors);
  EXPECT_EQ(steps[1].args, join(base, {"-t", "identity"}, common));
  EXPECT_EQ(steps[1].editors, "");
  EXPECT_EQ(steps[2].args, join(base, {"-e", editors, "--control-task"}, common));
  // The control model: the randomly initialised copy under the remedi home, its own editors.
  const std::string random = (fs::path(lm::remedi_home()) / "models" / "m_random").string();
  EXPECT_EQ(random_model_dir("m"), random);
  EXPECT_EQ(steps[3].model, random);
  EXPECT_EQ(steps[3].editors, editors + "_random");
  EXPECT_EQ(steps[3].args, join(base,
                                {"-m", random, "-e", editors + "_random", "--control-model", "--device",
                                 "cpu", "--results-dir", "/r"},
                                {"--rows", "train[:40]"}));
}

TEST_F(ExperimentsTest, TrainingUsesTheTablesRowsAndSmallSettings) {
  ExperimentOptions o = options("train.biosbias");
  o.small = true;
  o.dataset_file = "/data/bios";
  const std::vector<ExperimentStep> steps = plan_experiment(o);
  ASSERT_EQ(steps.size(), 1U);
  EXPECT_EQ(steps[0].args, (Args{"train", "-n", "emnlp_editors_biosbias_m", "-d", "biosbias", "-m", "m",
                                 "--device", "cpu", "--results-dir", "/r", "-f", "/data/bios", "--rows",
                                 "train[:90]", "--train-size", "400", "--max-epochs", "4"}));
  // --random trains at the edit layer on the control model, written first when it is not there.
  o.random = true;
  o.small = false;
  o.train_rows = "train[:10]";
  const std::vector<ExperimentStep> random = plan_experiment(o);
  ASSERT_EQ(random.size(), 2U);
  EXPECT_EQ(random[0].args, (Args{"random-init-model", "-m", "m", "--out-dir", random_model_dir("m")}));
  EXPECT_EQ(random[1].args, (Args{"train", "-n", "emnlp_editors_biosbias_m_random", "-d", "biosbias", "-m",
                                  random_model_dir("m"), "-l", "2", "--device", "cpu", "--results-dir", "/r",
                                  "--rows", "train[:10]", "-f", "/data/bios"}));
}

TEST_F(ExperimentsTest, SweepsAndDumpsNameTheirFoldersByTheModelKey) {
  // A model path keys the folders by its file name without extension.
  ExperimentOptions o = options("sweep.gen.counterfact", "/models/tiny.gguf");
  const std::vector<ExperimentStep> sweep = plan_experiment(o);
  ASSERT_EQ(sweep.size(), 1U);
  EXPECT_EQ(sweep[0].args, (Args{"eval", "fact-gen", "-n", "emnlp_sweep_gen_counterfact_tiny", "-e",
                                 "/r/emnlp_editors_counterfact_tiny", "-b", "efficacy", "paraphrase",
                                 "generation", "essence", "-m", "/models/tiny.gguf", "--device", "cpu",
                                 "--results-dir", "/r", "--small"}));
  o = options("dump.all");
  o.layer = 4;
  const std::vector<ExperimentStep> dumps = plan_experiment(o);
  ASSERT_EQ(dumps.size(), 3U);
  EXPECT_EQ(dumps[2].args[0], "generate-directions");
  EXPECT_EQ(dumps[2].args[2], "emnlp_directions_mcrae_m");
  EXPECT_EQ(dumps[2].args[8], "4");  // -l: the option overrides the table
}

TEST_F(ExperimentsTest, ErrorsNameTheExperimentOrTheTableField) {
  test::expect_error_containing([] { plan_experiment(options("eval.cls.wikipedia")); }, "<argument>", "NAME",
                                "is not an experiment");
  test::expect_error_containing([&] { plan_experiment(options("eval.ent.mcrae")); }, dir_ + "/layers.json",
                                "models.m.mcrae.edit_layer", "no edit layer chosen");
  test::write_file(dir_ + "/layers.json", "[]");
  test::expect_error_containing([&] { plan_experiment(options("eval.gen.counterfact")); },
                                dir_ + "/layers.json", "models", "missing or not an object");
  ExperimentOptions o = options("train.counterfact");
  o.dataset_file = dir_ + "/absent.jsonl";
  test::expect_error_containing([&] { check_experiment_inputs(o, {}); }, dir_ + "/absent.jsonl", "",
                                "missing");
}

TEST(ExperimentCommandLine, QuotesWhatAShellWouldSplitOrExpand) {
  EXPECT_EQ(command_line({"eval", "fact-gen", "--rows", "train[:5]", "-n", "a b", "-f", ""}),
            "remedi eval fact-gen --rows 'train[:5]' -n 'a b' -f ''");
}

}  // namespace
}  // namespace remedi::evaluate
