// Training the editors of an experiment (remedi/train_run.h) on the tiny GPT-2 fixture
// (tests/tiny_model.h) and a dozen hand-written samples: the hold-out split, the data-set defaults, a 2-epoch
// run's saved editor, args file, report and progress events, resume, and the errors that name the flag. The
// saved editor is checked against an independent computation: its validation loss is the report's best one,
// and epoch 0's is the seeded fresh editor's.
#include "remedi/train_run.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/splits.h"
#include "io/expect_error.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tiny_model.h"

namespace remedi {
namespace {

namespace fs = std::filesystem;

// Twelve CounterFact-like samples: a capital, a false country (mediated), the true one (unmediated).
std::vector<data::MediationSample> samples() {
  const std::vector<std::vector<std::string>> rows = {
      {"paris", "italy", "france"}, {"rome", "spain", "italy"},       {"berlin", "peru", "germany"},
      {"madrid", "chile", "spain"}, {"lisbon", "greece", "portugal"}, {"athens", "norway", "greece"},
      {"oslo", "egypt", "norway"},  {"cairo", "india", "egypt"},      {"delhi", "cuba", "india"},
      {"havana", "turkey", "cuba"}, {"ankara", "kenya", "turkey"},    {"nairobi", "poland", "kenya"}};
  std::vector<data::MediationSample> out;
  for (const auto& row : rows) {
    data::MediationSample s;
    s.id = row[0];
    s.entity = row[0];
    s.attribute = "is in " + row[1];
    s.context = row[0] + " is in " + row[1];
    s.prompt = "the city of " + row[0] + " is in";
    s.target_mediated = row[1];
    s.target_unmediated = row[2];
    out.push_back(s);
  }
  return out;
}

class TrainRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("train_run"));
    model_ = new lm::LoadedModel(test::tiny_model());
    data::write_samples(*dir_ + "/samples.jsonl", samples());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete model_;
    delete dir_;
  }
  static TrainRunOptions options(const std::string& name) {
    TrainRunOptions o;
    o.name = name;
    o.data = {"samples", *dir_ + "/samples.jsonl", "", "", 123456};
    o.layers = {1};
    o.batch_size = 4;
    o.max_epochs = 2;
    o.seed = 5;
    o.results = *dir_ + "/results";
    o.quiet = true;
    return o;
  }
  // The validation loss of `editor` on the run's validation rows, computed here from the samples.
  static double validation_loss(Editor& editor, const TrainRunOptions& o) {
    const TrainSamples split = select_train_samples(o);
    PrecomputeOptions precompute;
    precompute.layer = editor.config().layer;
    precompute.batch_size = o.batch_size;
    const EditorInputs inputs =
        precompute_editor_inputs(model_->lm(), model_->tok(), split.validation, precompute);
    TrainingSplit batches = make_training_split(model_->tok(), split.validation, inputs, editor.config(),
                                                o.batch_size, model_->lm().config().max_positions, false);
    TrainOptions
        weights;  // lam_m 1, lam_u 1, lam_kl 10: the run's defaults for a data set with unmediated targets
    weights.progress = false;
    editor.eval();
    return evaluate_loss(model_->lm(), editor, batches, weights);
  }
  static std::string* dir_;
  static lm::LoadedModel* model_;
};
std::string* TrainRunTest::dir_ = nullptr;
lm::LoadedModel* TrainRunTest::model_ = nullptr;

TEST_F(TrainRunTest, DataSetDefaultsAndTheHoldOutSplit) {
  EXPECT_EQ(default_unmediated_weight("counterfact"), 1.0);
  EXPECT_EQ(default_unmediated_weight("samples"), 1.0);
  EXPECT_FALSE(default_unmediated_weight("biosbias").has_value());
  EXPECT_FALSE(default_unmediated_weight("mcrae").has_value());

  TrainRunOptions o = options("split");
  const TrainSamples split = select_train_samples(o);
  const data::HoldOutSplit want = data::hold_out_split(12, 0.1, 5);
  ASSERT_EQ(split.validation.size(), 2U);  // ceil(10% of 12)
  ASSERT_EQ(split.train.size(), 10U);
  const std::vector<data::MediationSample> rows = samples();
  for (std::size_t i = 0; i < split.train.size(); ++i) EXPECT_EQ(split.train[i].id, rows[want.train[i]].id);
  for (std::size_t i = 0; i < split.validation.size(); ++i)
    EXPECT_EQ(split.validation[i].id, rows[want.validation[i]].id);
  // --train-size keeps the first rows before the split; --attribute-no-entity makes the attribute the
  // context.
  o.train_size = 5;
  o.attribute_no_entity = true;
  const TrainSamples small = select_train_samples(o);
  EXPECT_EQ(small.train.size() + small.validation.size(), 5U);
  for (const auto& s : small.train) EXPECT_EQ(s.context, s.attribute);
  o.train_size = 1;
  test::expect_error_containing([&] { select_train_samples(o); }, "<argument>", "--dataset", "fewer than 2");
}

TEST_F(TrainRunTest, TwoEpochsSaveTheBestEditorWithItsReport) {
  const TrainRunOptions o = options("two_epochs");
  std::vector<std::string> events;
  const TrainRunResult result = train_editors(*model_, o, [&](const TrainRunEvent& e) {
    static const char* const kKinds[] = {"started", "skipped", "epoch", "saved"};
    const std::string kind = kKinds[static_cast<int>(e.kind)];
    events.push_back(kind == "started" ? kind + " " + e.folder
                                       : kind + " " + e.type + "/" + std::to_string(e.layer) + " " +
                                             std::to_string(e.epoch));
  });
  EXPECT_EQ(events, (std::vector<std::string>{"started " + *dir_ + "/results/two_epochs", "epoch linear/1 0",
                                              "epoch linear/1 1", "epoch linear/1 2", "saved linear/1 0"}));
  EXPECT_EQ(result.experiment, *dir_ + "/results/two_epochs");
  EXPECT_EQ(result.train_samples, 10U);
  EXPECT_EQ(result.validation_samples, 2U);
  ASSERT_EQ(result.editors.size(), 1U);
  const TrainedEditor& trained = result.editors[0];
  ASSERT_TRUE(trained.report.has_value());
  const TrainReport& report = *trained.report;
  ASSERT_EQ(report.epochs.size(), 3U);  // the measuring epoch 0, then 2
  EXPECT_EQ(trained.folder, result.experiment + "/linear/1");
  EXPECT_FALSE(fs::exists(trained.folder + "/checkpoint.pt"));

  // The sidecar's training record: sizes, the args, the report as train_report_json writes it.
  const nlohmann::json sidecar = test::read_json(trained.folder + "/editor.json");
  EXPECT_EQ(sidecar["training"]["train_samples"], 10);
  EXPECT_EQ(sidecar["training"]["validation_samples"], 2);
  EXPECT_EQ(sidecar["training"]["args"], train_run_args_json(o, *model_));
  EXPECT_EQ(sidecar["training"]["args"]["model"], model_->path);  // no model name given: the path
  EXPECT_EQ(sidecar["training"]["report"]["best_epoch"], report.best_epoch);
  EXPECT_EQ(sidecar["training"]["report"]["epochs"].size(), 3U);
  EXPECT_GT(sidecar["training"]["train_samples_per_second"].get<double>(), 0);
  std::size_t args_files = 0;
  for (const auto& entry : fs::directory_iterator(result.experiment)) {
    if (entry.path().filename().string().starts_with("args-")) {
      ++args_files;
      EXPECT_EQ(test::read_json(entry.path().string()), train_run_args_json(o, *model_));
    }
  }
  EXPECT_EQ(args_files, 1U);

  // Independent checks: the saved editor's validation loss is the best epoch's (restore_best), and
  // epoch 0 measured the fresh editor drawn with seed + layer.
  const std::shared_ptr<Editor> saved = load_editor(trained.folder, model_->lm());
  EXPECT_NEAR(validation_loss(*saved, o), report.best_validation_loss, 1e-5);
  EXPECT_DOUBLE_EQ(report.epochs[static_cast<std::size_t>(report.best_epoch)].validation_loss,
                   report.best_validation_loss);
  EditorConfig config = saved->config();
  const std::shared_ptr<Editor> fresh = make_editor(config, o.seed + 1);
  EXPECT_NEAR(validation_loss(*fresh, o), report.epochs[0].validation_loss, 1e-5);
  // With the default learning rate both losses fall on these rows, so the best epoch is a trained one.
  EXPECT_LT(report.epochs.back().train_loss, report.epochs[0].train_loss);
  EXPECT_GT(report.best_epoch, 0);

  // The printed summary lists it; a resumed run skips it and trains nothing.
  const nlohmann::json summary = train_run_summary_json(result);
  EXPECT_EQ(summary["experiment"], result.experiment);
  ASSERT_EQ(summary["editors"].size(), 1U);
  EXPECT_EQ(summary["editors"][0]["epochs"], 3);
  EXPECT_EQ(summary["editors"][0]["best_validation_loss"], report.best_validation_loss);
  TrainRunOptions again = o;
  again.resume = true;
  // A checkpoint beside a saved editor (a kill between the save and its removal) is removed.
  test::write_file(trained.folder + "/checkpoint.pt", "stale");
  const TrainRunResult resumed = train_editors(*model_, again);
  EXPECT_FALSE(fs::exists(trained.folder + "/checkpoint.pt"));
  ASSERT_EQ(resumed.editors.size(), 1U);
  EXPECT_TRUE(resumed.editors[0].skipped);
  EXPECT_TRUE(train_run_summary_json(resumed)["editors"].empty());
}

TEST_F(TrainRunTest, AResumeWithOtherArgumentsIsRefusedNamingThem) {
  TrainRunOptions o = options("killed");
  // Killed after epoch 1's checkpoint.
  const TrainRunProgress kill = [](const TrainRunEvent& e) {
    if (e.kind == TrainRunEvent::Kind::Epoch && e.epoch == 1) throw std::runtime_error("killed");
  };
  EXPECT_THROW(train_editors(*model_, o, kill), std::runtime_error);
  const std::string checkpoint = editor_folder(*dir_ + "/results/killed", "linear", 1) + "/checkpoint.pt";
  ASSERT_TRUE(fs::exists(checkpoint));
  TrainRunOptions again = o;
  again.resume = true;
  again.lr = 0.01;
  again.max_epochs = 3;
  test::expect_error_containing([&] { train_editors(*model_, again); }, checkpoint, "arguments",
                                "lr (checkpoint 0.001, now 0.01), max_epochs (checkpoint 2, now 3)");
  // Other layers, types or device are no reason to refuse: the same arguments resume.
  again = o;
  again.resume = true;
  again.device = "cpu:0";
  const TrainRunResult resumed = train_editors(*model_, again);
  ASSERT_EQ(resumed.editors.size(), 1U);
  ASSERT_TRUE(resumed.editors[0].report.has_value());
  EXPECT_TRUE(resumed.editors[0].report->resumed);
  EXPECT_FALSE(fs::exists(checkpoint));
}

TEST_F(TrainRunTest, ABadSampleIsNamedByItsFile) {
  // A sample whose attribute is not in its context: the error names the data file, not "<data>".
  std::vector<data::MediationSample> rows = samples();
  rows[2].attribute = "is on mars";
  const std::string file = *dir_ + "/bad_samples.jsonl";
  data::write_samples(file, rows);
  TrainRunOptions o = options("bad_sample");
  o.data.file = file;
  test::expect_error_containing([&] { train_editors(*model_, o); }, file, "sample berlin attribute",
                                "\"is on mars\" has no occurrence");
}

TEST_F(TrainRunTest, ParameterFreeEditorsAreSavedWithoutAReport) {
  TrainRunOptions o = options("identity");
  o.types = {"identity"};
  o.layers = {0, 2};
  const TrainRunResult result = train_editors(*model_, o);
  ASSERT_EQ(result.editors.size(), 2U);
  for (const TrainedEditor& e : result.editors) {
    EXPECT_FALSE(e.report.has_value());
    EXPECT_FALSE(test::read_json(e.folder + "/editor.json")["training"].contains("report"));
  }
  EXPECT_TRUE(train_run_summary_json(result)["editors"].empty());
}

TEST_F(TrainRunTest, BadOptionsNameTheFlagAndWriteNothing) {
  const auto refused = [](TrainRunOptions o, const std::string& flag, const std::string& reason) {
    test::expect_error_containing([&] { train_editors(*model_, o); }, "<argument>", flag, reason);
    EXPECT_FALSE(fs::exists(*dir_ + "/results/" + o.name)) << flag;
  };
  TrainRunOptions o = options("bad");
  o.layers = {3};
  refused(o, "--layers", "3 is outside the model's 0..2");
  o = options("bad");
  o.hold_out = 1;
  refused(o, "--hold-out", "must be in (0, 1)");
  o = options("bad");
  o.batch_size = 0;
  refused(o, "--batch-size", "must be positive");
  o = options("bad");
  o.types = {"quadratic"};
  try {
    train_editors(*model_, o);
    ADD_FAILURE() << "an unknown editor type was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("quadratic"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace remedi
