// The training loop (METHOD §7.3-7.4) on the tiny GPT-2 fixture with hand-made batches: it learns,
// restores the best epoch's weights (METHOD Q2 fixed) or keeps the last (faithful), is bit-reproducible,
// and a run killed after an epoch resumes to exactly the weights of an uninterrupted run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "io/expect_error.h"
#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/precompute.h"
#include "remedi/trainer.h"
#include "test_support.h"
#include "tiny_batch.h"
#include "tok/tokenizer.h"

namespace remedi {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = lm::CausalLM::load(test::fixture("lm/gpt2"));
    dir_ = test::temp_dir("trainer");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<Editor> fresh_editor() {
    EditorConfig config;
    config.layer = 1;
    config.hidden_size = model_->config().hidden_size;
    return make_editor(config, 21);
  }
  TrainingSplit split(std::uint64_t seed, int batches) {
    TrainingSplit s;
    for (int i = 0; i < batches; ++i)
      s.batches.push_back(test::tiny_batch(model_->config().hidden_size, seed + i));
    return s;
  }
  static std::vector<torch::Tensor> weights(Editor& editor) {
    std::vector<torch::Tensor> out;
    for (const auto& p : editor.parameters()) out.push_back(p.detach().clone());
    return out;
  }
  static bool same_bits(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!torch::equal(a[i], b[i])) return false;
    }
    return true;
  }
  // The weights of a fresh editor trained with `o` on the same splits each time; the training split
  // (with what its batches kept) in `train_out` when given.
  std::vector<torch::Tensor> train_fresh(const TrainOptions& o, TrainingSplit* train_out = nullptr) {
    auto editor = fresh_editor();
    TrainingSplit train = split(100, 3);
    TrainingSplit validation = split(200, 1);
    train_editor(*model_, *editor, train, validation, o);
    if (train_out != nullptr) *train_out = std::move(train);
    return weights(*editor);
  }
  TrainOptions options(std::int64_t epochs) {
    TrainOptions o;
    o.max_epochs = epochs;
    o.progress = false;
    o.lr = 1e-2;
    return o;
  }

  std::unique_ptr<lm::CausalLM> model_;
  std::string dir_;
};

TEST_F(TrainerTest, TrainingLowersTheLoss) {
  auto editor = fresh_editor();
  // random targets do not generalise, so validation reuses the training prompts here
  TrainingSplit train = split(100, 4);
  TrainingSplit validation = split(100, 4);
  TrainOptions o = options(6);
  o.weights.kl.reset();  // the random tiny LM resists KL-constrained edits; the target terms must fall
  const TrainReport report = train_editor(*model_, *editor, train, validation, o);
  ASSERT_EQ(report.epochs.size(), 7U);  // epoch 0 measures, 1..6 train
  EXPECT_LT(report.epochs.back().train_loss, 0.8 * report.epochs.front().train_loss);
  EXPECT_LT(report.best_validation_loss, report.epochs.front().validation_loss);
}

TEST_F(TrainerTest, EpochZeroOnlyMeasures) {
  auto editor = fresh_editor();
  const auto before = weights(*editor);
  TrainingSplit train = split(100, 2);
  TrainingSplit validation = split(200, 1);
  train_editor(*model_, *editor, train, validation, options(0));
  EXPECT_TRUE(same_bits(before, weights(*editor)));
}

TEST_F(TrainerTest, RestoresTheBestEpochOrKeepsTheLastWhenFaithful) {
  for (const bool restore_best : {true, false}) {
    auto editor = fresh_editor();
    TrainingSplit train = split(100, 2);
    TrainingSplit validation = split(300, 1);
    TrainOptions o = options(8);
    o.lr = 0.5;  // overshoots, so validation loss gets worse after some epoch
    o.patience = 1;
    o.restore_best = restore_best;
    std::map<std::int64_t, std::vector<torch::Tensor>> after_epoch;
    o.after_epoch = [&](std::int64_t epoch) { after_epoch[epoch] = weights(*editor); };
    const TrainReport report = train_editor(*model_, *editor, train, validation, o);
    const std::int64_t last = report.epochs.back().epoch;
    ASSERT_LT(report.best_epoch, last) << "the test needs a run whose best epoch is not the last";
    EXPECT_TRUE(same_bits(weights(*editor), after_epoch[restore_best ? report.best_epoch : last]));
  }
}

TEST_F(TrainerTest, SameSeedSameBits) {
  EXPECT_TRUE(same_bits(train_fresh(options(2)), train_fresh(options(2))));
}

// Keeping each batch's keys and values before its edits across epochs (the default budget) trains the
// same bits as recomputing them each step; a budget below one batch keeps none.
TEST_F(TrainerTest, KeepingKeysAndValuesBeforeTheEditsTrainsTheSameBits) {
  std::vector<std::vector<torch::Tensor>> results;
  std::vector<std::int64_t> kept;
  for (const std::int64_t budget : {std::int64_t{0}, std::int64_t{100}, std::int64_t{512} << 20}) {
    TrainOptions o = options(2);
    o.prefix_cache_bytes = budget;
    TrainingSplit train;
    results.push_back(train_fresh(o, &train));
    std::int64_t bytes = 0;
    for (const EditBatch& batch : train.batches) bytes += batch.prefix_cache_bytes();
    kept.push_back(bytes);
  }
  EXPECT_TRUE(same_bits(results[0], results[1]));
  EXPECT_TRUE(same_bits(results[0], results[2]));
  EXPECT_EQ(kept[0], 0);
  EXPECT_EQ(kept[1], 0);
  EXPECT_GT(kept[2], 100);
}

// --reference-mode makes the LM trainable while the editor trains (the original's computation, METHOD Q4):
// the editor's gradients are the same, so are its weights, and the LM is frozen again afterwards.
TEST_F(TrainerTest, ReferenceModeTrainsTheSameEditorAndRefreezesTheLm) {
  std::vector<std::vector<torch::Tensor>> results;
  for (const ComputeMode mode : {ComputeMode::Efficient, ComputeMode::Reference}) {
    TrainOptions o = options(2);
    o.mode = mode;
    results.push_back(train_fresh(o));
  }
  // The two modes sum the same loss in different orders. Adam divides each gradient by its running
  // RMS, so a last-bit difference in a near-zero gradient component moves that weight by a visible
  // part of the learning rate: CI saw 2.4e-5 under load. 1e-4 is 1/600 of the most six steps at
  // lr 1e-2 can move a weight; a different loss or a wrong gradient moves them by far more.
  ASSERT_EQ(results[0].size(), results[1].size());
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_TRUE(torch::allclose(results[0][i], results[1][i], 1e-4, 1e-4))
        << i << ": max |difference| " << (results[0][i] - results[1][i]).abs().max().item<double>();
  }
  EXPECT_FALSE(model_->weights().token_embedding.requires_grad());
  EXPECT_FALSE(model_->weights().token_embedding.grad().defined());
  for (const torch::Tensor* t : model_->weights().layers[0].all()) {
    if (t->defined()) {
      EXPECT_FALSE(t->requires_grad());
    }
  }
}

TEST_F(TrainerTest, ANonFiniteLossStopsTrainingWithANamedError) {
  auto editor = fresh_editor();
  {
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : editor->parameters()) p.fill_(1e38);  // directions overflow to infinity
  }
  TrainingSplit train = split(100, 2);
  TrainingSplit validation = split(200, 1);
  test::expect_error_containing([&] { train_editor(*model_, *editor, train, validation, options(2)); },
                                "<training>", "epoch 1 batch 0", "the loss is not finite");
}

TEST_F(TrainerTest, ResumeAfterAKillGivesTheSameWeights) {
  auto uninterrupted = fresh_editor();
  TrainReport full;
  {
    TrainingSplit train = split(100, 3);
    TrainingSplit validation = split(200, 1);
    TrainOptions o = options(4);
    o.checkpoint_path = dir_ + "/a/checkpoint.pt";
    full = train_editor(*model_, *uninterrupted, train, validation, o);
  }
  TrainOptions o = options(4);
  o.checkpoint_path = dir_ + "/b/checkpoint.pt";
  o.arguments = {{"lr", o.lr}, {"rows", "train[:3]"}};
  {
    auto killed = fresh_editor();
    TrainingSplit train = split(100, 3);
    TrainingSplit validation = split(200, 1);
    TrainOptions dying = o;
    dying.after_epoch = [](std::int64_t epoch) {
      if (epoch == 2) throw std::runtime_error("killed");
    };
    EXPECT_THROW(train_editor(*model_, *killed, train, validation, dying), std::runtime_error);
  }
  auto resumed = fresh_editor();
  TrainingSplit train = split(100, 3);
  TrainingSplit validation = split(200, 1);
  o.resume = true;
  // A resume asked for something else is refused, naming what differs; the checkpoint stays.
  TrainOptions other = o;
  other.arguments = {{"lr", 0.5}, {"rows", "train[:3]"}, {"seed", 2}};
  test::expect_error([&] { train_editor(*model_, *resumed, train, validation, other); }, o.checkpoint_path,
                     "arguments",
                     "written by a run with other arguments: lr (checkpoint " + nlohmann::json(o.lr).dump() +
                         ", now 0.5), seed (checkpoint null, now 2); resume with the same arguments, or "
                         "delete the checkpoint to start again");
  resumed = fresh_editor();
  const TrainReport report = train_editor(*model_, *resumed, train, validation, o);
  EXPECT_TRUE(report.resumed);
  EXPECT_EQ(report.epochs.size(), 5U);  // the history before the kill is kept
  EXPECT_TRUE(same_bits(weights(*uninterrupted), weights(*resumed)));
  // The training passes before the kill still count (editor.json's samples per second).
  EXPECT_EQ(report.train_samples, full.train_samples);
  EXPECT_GT(report.train_seconds, 0);
}

// A training prompt longer than the context is refused: cut, it would train the target after the cut.
TEST_F(TrainerTest, ATrainingPromptLongerThanTheContextIsRefused) {
  const tok::Tokenizer tokenizer = tok::Tokenizer::from_hf_json(test::fixture("lm/tokenizer.json"));
  const data::MediationSample ok{.id = "0",
                                 .entity = "anna",
                                 .attribute = "in rome",
                                 .context = "anna is in rome",
                                 .prompt = "anna met",
                                 .target_mediated = "rome",
                                 .target_unmediated = std::nullopt,
                                 .source = {}};
  data::MediationSample long_prompt = ok;
  long_prompt.id = "1";
  long_prompt.prompt = "anna met paris and rome and paris";
  const auto tokens = static_cast<std::int64_t>(tokenizer.encode(long_prompt.prompt).ids.size());
  ASSERT_GT(tokens, 10);
  EditorInputs inputs;
  for (torch::Tensor* t :
       {&inputs.entity_last, &inputs.entity_average, &inputs.attribute_last, &inputs.attribute_average})
    *t = torch::zeros({2, model_->config().hidden_size});
  EditorConfig config;
  config.layer = 1;
  config.hidden_size = model_->config().hidden_size;
  ASSERT_LE(static_cast<std::int64_t>(tokenizer.encode(ok.prompt).ids.size()), 10);
  EXPECT_EQ(make_training_split(tokenizer, {ok, ok}, inputs, config, 2, 10, false).batches.size(), 1U);
  test::expect_error(
      [&] {
        make_training_split(tokenizer, {ok, long_prompt}, inputs, config, 2, 10, false);
      },
      "<data>", "sample 1 prompt",
      "has " + std::to_string(tokens) + " tokens, more than the model's context of 10");
}

// A damaged checkpoint.pt gives a one-line error naming the file, never an internal error (issue 23).
TEST_F(TrainerTest, AMalformedCheckpointIsRefusedNamingTheFile) {
  const std::string path = dir_ + "/bad/checkpoint.pt";
  std::filesystem::create_directories(dir_ + "/bad");
  TrainOptions o = options(2);
  o.checkpoint_path = path;
  o.resume = true;
  const auto resume = [&] {
    auto editor = fresh_editor();
    TrainingSplit train = split(100, 1);
    TrainingSplit validation = split(200, 1);
    train_editor(*model_, *editor, train, validation, o);
  };
  test::write_file(path, "not an archive");
  test::expect_error(resume, path, "", "not a readable training checkpoint");
  const auto with_meta = [&](const std::string& meta) {
    torch::serialize::OutputArchive archive;
    archive.write("meta", c10::IValue(meta));
    archive.save_to(path);
  };
  with_meta("{\"epoch\": 1");
  test::expect_error_containing(resume, path, "meta", "malformed: [json.exception.parse_error");
  with_meta("{\"epoch\": 1}");  // keys missing
  test::expect_error_containing(resume, path, "meta", "malformed: [json.exception.out_of_range");
  with_meta(
      R"({"epoch": "one", "tracker_best": 0, "tracker_bad_epochs": 0, "finished": false, "history": []})");
  test::expect_error_containing(resume, path, "meta", "malformed: [json.exception.type_error");
  with_meta(R"({"epoch": 1, "tracker_best": 0, "tracker_bad_epochs": 0, "finished": false,
                "history": [{"epoch": 0}]})");
  test::expect_error_containing(resume, path, "meta", "malformed: [json.exception.out_of_range");
  with_meta(R"({"epoch": 1, "tracker_best": 0, "tracker_bad_epochs": -3, "finished": false, "history": []})");
  test::expect_error(resume, path, "meta",
                     "malformed: epoch, tracker_bad_epochs or train_samples out of range");
  with_meta(R"({"epoch": 9223372036854775807, "tracker_best": 0, "tracker_bad_epochs": 0, "finished": false,
                "history": []})");
  test::expect_error(resume, path, "meta",
                     "malformed: epoch, tracker_bad_epochs or train_samples out of range");
  // Well-formed state but no weights.
  with_meta(R"({"epoch": 1, "tracker_best": 0, "tracker_bad_epochs": 0, "finished": false, "history": []})");
  test::expect_error(resume, path, "editor_0", "missing or shaped for another editor");
  // The editor's weights but an optimizer state that is not its AdamW's.
  {
    torch::serialize::OutputArchive archive;
    archive.write("meta", c10::IValue(std::string(
                              R"({"epoch": 1, "tracker_best": 0, "tracker_bad_epochs": 0, "finished": false,
                                  "history": []})")));
    std::size_t i = 0;
    for (const torch::Tensor& p : fresh_editor()->parameters()) {
      archive.write("editor_" + std::to_string(i), p.detach());
      archive.write("best_" + std::to_string(i++), p.detach());
    }
    torch::serialize::OutputArchive optimizer;
    optimizer.write("pytorch_version", c10::IValue(std::string("1.5.0")));
    archive.write("optimizer", optimizer);
    archive.save_to(path);
  }
  test::expect_error(resume, path, "optimizer", "not the state of this editor's optimizer");
}

}  // namespace
}  // namespace remedi
