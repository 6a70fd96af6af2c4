// The runtime against HF transformers: block outputs, logits, edits and greedy continuations of
// tiny random checkpoints of every family (tests/fixtures/lm, see its README for the tensors).
#include "lm/model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "io/expect_error.h"
#include "lm/generate.h"
#include "reference.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

constexpr double kTolerance = 1e-4;

using test::scaled_diff_at;

class FamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    folder_ = test::fixture("lm/" + GetParam());
    model_ = CausalLM::load(folder_);
    ref_ = test::load_reference(folder_ + "/reference.safetensors");
  }

  ForwardResult run(const std::string& side, const ForwardOptions& options) const {
    return model_->forward({ref_.at("input_ids_" + side), ref_.at("attention_mask_" + side)}, options);
  }

  ForwardOptions capture_all() const {
    ForwardOptions options;
    for (std::int64_t l = 0; l < model_->config().n_layer; ++l) options.capture_layers.push_back(l);
    return options;
  }

  std::string folder_;
  std::unique_ptr<CausalLM> model_;
  std::map<std::string, torch::Tensor> ref_;
};

TEST_P(FamilyTest, BlockOutputsAndLogitsMatchTransformers) {
  torch::NoGradGuard no_grad;
  for (const std::string side : {"right", "left"}) {
    SCOPED_TRACE(side);
    const torch::Tensor& mask = ref_.at("attention_mask_" + side);
    const ForwardResult result = run(side, capture_all());
    for (std::int64_t l = 0; l < model_->config().n_layer; ++l) {
      const torch::Tensor& expected = ref_.at("block_output_" + side + "_" + std::to_string(l));
      EXPECT_LE(scaled_diff_at(result.hidden.at(l), expected, mask), kTolerance) << "layer " << l;
    }
    EXPECT_LE(scaled_diff_at(result.logits, ref_.at("logits_" + side), mask), kTolerance);
  }
}

TEST_P(FamilyTest, UnpaddedForwardMatchesTransformersAtRealTokens) {
  torch::NoGradGuard no_grad;
  for (const std::string side : {"right", "left"}) {
    SCOPED_TRACE(side);
    const torch::Tensor& mask = ref_.at("attention_mask_" + side);
    ASSERT_EQ(mask.eq(0).sum().item<std::int64_t>() > 0, true) << "the fixture batch must be ragged";
    ForwardOptions options = capture_all();
    options.unpadded = true;
    const ForwardResult result = run(side, options);
    for (std::int64_t l = 0; l < model_->config().n_layer; ++l) {
      const torch::Tensor& expected = ref_.at("block_output_" + side + "_" + std::to_string(l));
      EXPECT_LE(scaled_diff_at(result.hidden.at(l), expected, mask), kTolerance) << "layer " << l;
      // padding positions come back as zeros
      EXPECT_EQ((result.hidden.at(l) * (1 - mask).unsqueeze(-1)).abs().max().item<double>(), 0.0);
    }
    EXPECT_LE(scaled_diff_at(result.logits, ref_.at("logits_" + side), mask), kTolerance);
  }
  // an edit inside the blocks, and a mid-model start from an edited block output
  const Intervention edit = test::reference_edit(ref_);
  const torch::Tensor& mask = ref_.at("attention_mask_right");
  ForwardOptions edited;
  edited.unpadded = true;
  edited.interventions.push_back(edit);
  EXPECT_LE(scaled_diff_at(run("right", edited).logits, ref_.at("edited_logits_right"), mask), kTolerance);
  ForwardOptions first;
  first.stop_after_layer = edit.layer;
  first.capture_layers = {edit.layer};
  ForwardOptions rest;
  rest.unpadded = true;
  rest.start_layer = edit.layer + 1;
  rest.start_hidden = apply_intervention(run("right", first).hidden.at(edit.layer), edit);
  EXPECT_LE(scaled_diff_at(run("right", rest).logits, ref_.at("edited_logits_right"), mask), kTolerance);
}

// ForwardOptions::run_tokens (remedi/loss.cpp's edited pass): each row's first tokens run alone
// (capturing their keys and values), the rest run given them; the logits at the rest are
// transformers'. Unedited from the embeddings, and edited from block edit.layer + 1 with the
// positions before the edit unedited, as the loss does. Row b leaves its first b + 1 real tokens to
// the first part (sliding-window layers then read given keys inside and outside their window).
TEST_P(FamilyTest, RunningTheRestOfEachRowOnGivenKeysAndValuesMatchesTransformers) {
  torch::NoGradGuard no_grad;
  for (const std::string side : {"right", "left"}) {
    SCOPED_TRACE(side);
    const torch::Tensor& mask = ref_.at("attention_mask_" + side);
    const std::int64_t rows = mask.size(0);
    // real tokens counted from each row's first: (B, T) 1-based, 0 at padding
    const torch::Tensor count = mask.cumsum(1) * mask;
    const torch::Tensor first = count.gt(0) & count.le(torch::arange(1, rows + 1).unsqueeze(1));
    const torch::Tensor rest = mask.to(torch::kBool) & first.logical_not();
    LayerKeysValues before;
    ForwardOptions head;
    head.unpadded = true;
    head.run_tokens = first;
    head.captured_keys_values = &before;
    head.logits = LogitsAt::None;
    (void)run(side, head);
    ForwardOptions tail;
    tail.unpadded = true;
    tail.run_tokens = rest;
    tail.given_keys_values = &before;
    const ForwardResult result = run(side, tail);
    EXPECT_LE(scaled_diff_at(result.logits, ref_.at("logits_" + side), rest.to(torch::kInt64)), kTolerance);
    // the first tokens come back as zeros
    EXPECT_EQ((result.last_hidden * first.unsqueeze(-1)).abs().max().item<double>(), 0.0);
  }
  const Intervention edit = test::reference_edit(ref_);
  const torch::Tensor& mask = ref_.at("attention_mask_right");
  ForwardOptions to_edit;
  to_edit.stop_after_layer = edit.layer;
  to_edit.capture_layers = {edit.layer};
  const torch::Tensor hidden = run("right", to_edit).hidden.at(edit.layer);
  const torch::Tensor from_edit =
      torch::arange(mask.size(1)).unsqueeze(0) >= edit.ranges.select(1, 0).unsqueeze(1);  // (B, T)
  ASSERT_TRUE((mask.to(torch::kBool) & from_edit.logical_not()).any().item<bool>())
      << "an edit at 0 tests nothing";
  LayerKeysValues before;
  ForwardOptions head;
  head.unpadded = true;
  head.start_layer = edit.layer + 1;
  head.start_hidden = hidden;
  head.run_tokens = from_edit.logical_not();
  head.captured_keys_values = &before;
  head.logits = LogitsAt::None;
  (void)run("right", head);
  ForwardOptions tail = head;
  tail.start_hidden = apply_intervention(hidden, edit);
  tail.run_tokens = from_edit;
  tail.captured_keys_values = nullptr;
  tail.given_keys_values = &before;
  tail.logits = LogitsAt::All;
  EXPECT_LE(scaled_diff_at(run("right", tail).logits, ref_.at("edited_logits_right"),
                           (mask.to(torch::kBool) & from_edit).to(torch::kInt64)),
            kTolerance);
  // Given keys and values are required for every layer the tail runs.
  ForwardOptions missing = tail;
  LayerKeysValues none;
  missing.given_keys_values = &none;
  test::expect_error([&] { (void)run("right", missing); }, "<forward>", "given_keys_values",
                     "no keys and values for layer " + std::to_string(edit.layer + 1));
}

TEST_P(FamilyTest, LeftAndRightPaddingAgree) {
  torch::NoGradGuard no_grad;
  ForwardOptions last;
  last.logits = LogitsAt::Last;
  const torch::Tensor right = run("right", last).logits;
  const torch::Tensor left = run("left", last).logits;
  // Relative to the logits' size: the two batches reduce in different orders, and a CI machine once
  // measured 2.6e-4 on GPT-2's logits of size 14 (5e-6 here). A padding bug moves logits by O(1).
  const double scale = std::max(1.0, right.abs().max().item<double>());
  EXPECT_LE((right - left).abs().max().item<double>(), kTolerance * scale) << "logits up to " << scale;
}

TEST_P(FamilyTest, GreedyContinuationMatchesTransformers) {
  torch::NoGradGuard no_grad;
  GenerateOptions options;
  const torch::Tensor& expected = ref_.at("greedy_ids");
  options.max_new_tokens = expected.size(1);
  const GenerateResult result =
      generate(*model_, {ref_.at("input_ids_left"), ref_.at("attention_mask_left")}, options);
  EXPECT_TRUE(torch::equal(result.tokens, expected)) << result.tokens << "\nexpected\n" << expected;
}

TEST_P(FamilyTest, EditedLogitsMatchTransformersHook) {
  torch::NoGradGuard no_grad;
  ForwardOptions options;
  const Intervention edit = test::reference_edit(ref_);
  options.interventions.push_back(edit);
  const torch::Tensor logits = run("right", options).logits;
  const torch::Tensor& mask = ref_.at("attention_mask_right");
  EXPECT_LE(scaled_diff_at(logits, ref_.at("edited_logits_right"), mask), kTolerance);
  // and the edit did change something
  EXPECT_GT(scaled_diff_at(logits, ref_.at("logits_right"), mask), 1e-2);
}

TEST_P(FamilyTest, NeutralInterventionChangesNothing) {
  torch::NoGradGuard no_grad;
  ForwardOptions options;
  Intervention edit;
  edit.layer = 0;
  edit.directions = torch::randn({3, model_->config().hidden_size});
  edit.ranges = torch::tensor({0, 2, 1, 3, 0, 1}, torch::kInt64).view({3, 2});
  edit.alpha = 0.0;
  edit.beta = 1.0;
  options.interventions.push_back(edit);
  EXPECT_TRUE(torch::equal(run("right", options).logits, run("right", {}).logits));
}

TEST_P(FamilyTest, GradientIntoDirectionMatchesFiniteDifferences) {
  const std::int64_t hidden = model_->config().hidden_size;
  torch::manual_seed(7);
  const torch::Tensor weights = torch::randn({3, model_->config().vocab_size});
  Intervention edit;
  edit.layer = 0;
  edit.ranges = ref_.at("edit_range");
  const auto objective = [&](const torch::Tensor& directions) {
    Intervention e = edit;
    e.directions = directions;
    ForwardOptions options;
    options.logits = LogitsAt::Last;
    options.interventions.push_back(e);
    return (torch::log_softmax(run("right", options).logits, -1) * weights).sum();
  };
  const torch::Tensor directions = (0.5 * torch::randn({3, hidden})).requires_grad_(true);
  objective(directions).backward();
  const torch::Tensor probe = torch::randn({3, hidden});
  const double analytic = (directions.grad() * probe).sum().item<double>();
  torch::NoGradGuard no_grad;
  const double step = 1e-2;
  const double numeric = (objective(directions + step * probe).item<double>() -
                          objective(directions - step * probe).item<double>()) /
                         (2 * step);
  EXPECT_NEAR(analytic, numeric, 2e-2 * std::max(1.0, std::abs(numeric)));
}

TEST_P(FamilyTest, StopEarlyAndStartMidModelReproduceFullForward) {
  torch::NoGradGuard no_grad;
  const ForwardResult full = run("right", capture_all());
  ForwardOptions first_half;
  first_half.stop_after_layer = 0;
  first_half.capture_layers = {0};
  const ForwardResult head = run("right", first_half);
  EXPECT_FALSE(head.logits.defined());
  EXPECT_TRUE(torch::equal(head.hidden.at(0), full.hidden.at(0)));
  ForwardOptions second_half;
  second_half.start_layer = 1;
  second_half.start_hidden = head.hidden.at(0);
  EXPECT_TRUE(torch::allclose(run("right", second_half).logits, full.logits, 0, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyTest,
                         ::testing::Values("gpt2", "gptj", "neox_parallel", "neox_sequential", "llama_gqa",
                                           "llama_tied", "qwen2", "qwen3", "olmo2", "gemma2", "gemma3",
                                           "phi3"));

// The same tiny weights written as GGUF by llama.cpp's conventions must give the same logits: those
// of the HF folder, or for Gemma (whose GGUF files lack query_pre_attn_scalar) those of the model
// llama.cpp reads from the file (logits_right_gguf), and the greedy continuation too.
TEST(GgufModel, TinyCheckpointsMatchTheirSafetensorsTwins) {
  torch::NoGradGuard no_grad;
  for (const std::string name : {"gpt2", "llama_gqa", "qwen2", "qwen3", "olmo2", "gemma2", "gemma3"}) {
    SCOPED_TRACE(name);
    const std::string folder = test::fixture("lm/" + name);
    const auto ref = test::load_reference(folder + "/reference.safetensors");
    const auto model = CausalLM::load(folder + "/model.gguf");
    const torch::Tensor logits =
        model->forward({ref.at("input_ids_right"), ref.at("attention_mask_right")}).logits;
    const bool own_reference = ref.count("logits_right_gguf") > 0;
    EXPECT_LE(scaled_diff_at(logits, ref.at(own_reference ? "logits_right_gguf" : "logits_right"),
                             ref.at("attention_mask_right")),
              kTolerance);
    if (own_reference) continue;
    GenerateOptions options;
    options.max_new_tokens = ref.at("greedy_ids").size(1);
    const GenerateResult greedy =
        generate(*model, {ref.at("input_ids_left"), ref.at("attention_mask_left")}, options);
    EXPECT_TRUE(torch::equal(greedy.tokens, ref.at("greedy_ids")));
  }
}

TEST(GgufModel, Q8_0WeightsAreDequantizedLikeTransformers) {
  torch::NoGradGuard no_grad;
  const std::string folder = test::fixture("lm/llama_gqa");
  const auto ref = test::load_reference(folder + "/reference.safetensors");
  const auto model = CausalLM::load(folder + "/model-q8_0.gguf");
  const torch::Tensor logits =
      model->forward({ref.at("input_ids_right"), ref.at("attention_mask_right")}).logits;
  EXPECT_LE(scaled_diff_at(logits, ref.at("logits_right_q8_0"), ref.at("attention_mask_right")), kTolerance);
}

// Ids the embedding does not have (a tokenizer that is not the model's) and positions past a learned
// position table (GPT-2's n_positions = 128 here) are named errors, not libtorch index errors.
TEST(ModelInputs, IdsOutsideTheVocabularyAndPositionsPastTheContextAreRefused) {
  torch::NoGradGuard no_grad;
  const std::string folder = test::fixture("lm/gpt2");
  const auto model = CausalLM::load(folder);
  const std::int64_t vocab = model->config().vocab_size;
  test::expect_error_containing(
      [&] {
        model->forward({torch::tensor({{std::int64_t{1}, vocab}}), torch::Tensor()});
      },
      folder, "input_ids", "token id " + std::to_string(vocab) + " is outside");
  test::expect_error_containing(
      [&] {
        model->forward({torch::tensor({{std::int64_t{1}, std::int64_t{-3}}}), torch::Tensor()});
      },
      folder, "input_ids", "token id -3 is outside");
  EXPECT_NO_THROW(model->forward({torch::ones({1, 128}, torch::kInt64), torch::Tensor()}));
  test::expect_error_containing(
      [&] {
        model->forward({torch::ones({1, 129}, torch::kInt64), torch::Tensor()});
      },
      folder, "positions", "position 128 is past the model's context of 128 tokens");
  // Generation that runs past the context stops with the same error.
  GenerateOptions options;
  options.max_new_tokens = 10;
  test::expect_error_containing(
      [&] {
        generate(*model, {torch::ones({1, 125}, torch::kInt64), torch::Tensor()}, options);
      },
      folder, "positions", "past the model's context");
}

}  // namespace
}  // namespace remedi::lm
