// The loss of METHOD §7.2 on the tiny GPT-2 fixture: every term against a value computed here from
// the plain edited forward (all logits) with the formulas written out, efficient == reference mode,
// and the editor gradient against finite differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lm/model.h"
#include "remedi/editor.h"
#include "remedi/loss.h"
#include "test_support.h"
#include "tiny_batch.h"

namespace remedi {
namespace {

constexpr std::int64_t kLayer = 1;

class LossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = lm::CausalLM::load(test::fixture("lm/gpt2"));
    EditorConfig config;
    config.layer = kLayer;
    config.hidden_size = model_->config().hidden_size;
    editor_ = make_editor(config, 7);
    batch_ = test::tiny_batch(config.hidden_size, 11);
  }

  // (B, T, V) log-probs of the LM edited with `directions` (or unedited), all positions.
  torch::Tensor full_logprobs(const torch::Tensor& directions) {
    lm::ForwardOptions options;
    options.logits = lm::LogitsAt::All;
    if (directions.defined())
      options.interventions.push_back({kLayer, directions, batch_.edit_ranges, 1.0, 1.0});
    return torch::log_softmax(model_->forward(batch_.tokens, options).logits, -1);
  }

  std::unique_ptr<lm::CausalLM> model_;
  std::shared_ptr<Editor> editor_;
  EditBatch batch_;
};

TEST_F(LossTest, EachTermMatchesTheFormula) {
  torch::NoGradGuard no_grad;
  const torch::Tensor d = editor_->forward(batch_.entity_inputs, batch_.attribute_inputs);
  const torch::Tensor edited = full_logprobs(d);
  const torch::Tensor orig = full_logprobs(torch::Tensor());
  double mediated = 0;
  double unmediated = 0;
  double kl_sum = 0;
  double kl_last_row = 0;
  int kl_rows = 0;
  double norm = 0;
  for (std::int64_t b = 0; b < 3; ++b) {
    const std::int64_t n = batch_.lengths[b].item<std::int64_t>();
    const std::int64_t e = batch_.entity_ends[b].item<std::int64_t>();
    mediated -= edited[b][n - 1][batch_.mediated_ids[b].item<std::int64_t>()].item<double>() / 3;
    const double pu =
        std::exp(edited[b][n - 1][batch_.unmediated_ids[b].item<std::int64_t>()].item<double>());
    unmediated -= std::log(1 - pu) / 3;
    double kl_row = 0;
    for (std::int64_t s = e - 1; s < n - 1; ++s) {
      for (std::int64_t v = 0; v < 300; ++v) {
        const double p = orig[b][s][v].item<double>();
        kl_row += std::exp(p) * (p - edited[b][s][v].item<double>());
      }
    }
    kl_sum += kl_row;
    if (e - 1 < n - 1) {
      kl_last_row = kl_row;
      ++kl_rows;
    }
    norm += d[b].norm().item<double>() / 3;
  }
  ASSERT_EQ(kl_rows, 2);
  const double kl_mean = kl_sum / kl_rows;  // mean over rows with a non-empty span, then / B
  EXPECT_EQ(batch_.entity_ends[2].item<std::int64_t>(),
            batch_.lengths[2].item<std::int64_t>());  // row 2: empty KL span
  LossWeights weights;
  weights.norm = 0.5;
  for (const ComputeMode mode : {ComputeMode::Efficient, ComputeMode::Reference}) {
    const LossResult loss = remedi_loss(*model_, *editor_, batch_, nullptr, weights, mode);
    EXPECT_NEAR(loss.terms.at("mediated"), mediated, 1e-4);
    EXPECT_NEAR(loss.terms.at("unmediated"), unmediated, 1e-5);
    EXPECT_NEAR(loss.terms.at("kl"), 10.0 * kl_mean / 3, 1e-3);
    EXPECT_NEAR(loss.terms.at("norm"), 0.5 * norm, 1e-4);
    EXPECT_NEAR(loss.terms.at("total"), mediated + unmediated + 10.0 * kl_mean / 3 + 0.5 * norm, 2e-3);
    EXPECT_GT(kl_sum, 1e-3);  // the edit really moves the distributions
  }
  // METHOD Q1 faithful: only the last row with a non-empty span (row 1 here), divided by B
  weights.kl_last_row_only = true;
  const LossResult faithful =
      remedi_loss(*model_, *editor_, batch_, nullptr, weights, ComputeMode::Efficient);
  EXPECT_NEAR(faithful.terms.at("kl"), 10.0 * kl_last_row / 3, 1e-3);
}

TEST_F(LossTest, UnsetWeightsSkipTerms) {
  torch::NoGradGuard no_grad;
  LossWeights weights;
  weights.unmediated.reset();
  weights.kl.reset();
  const LossResult loss = remedi_loss(*model_, *editor_, batch_, nullptr, weights, ComputeMode::Efficient);
  EXPECT_EQ(loss.terms.count("kl"), 0U);
  EXPECT_EQ(loss.terms.count("unmediated"), 0U);
  EXPECT_NEAR(loss.terms.at("total"), loss.terms.at("mediated"), 1e-6);
}

TEST_F(LossTest, ZeroDirectionHasZeroKl) {
  torch::NoGradGuard no_grad;
  EditorConfig config = editor_->config();
  config.type = "null";
  const std::shared_ptr<Editor> null_editor = make_editor(config, 0);
  const LossResult loss = remedi_loss(*model_, *null_editor, batch_, nullptr, {}, ComputeMode::Efficient);
  EXPECT_NEAR(loss.terms.at("kl"), 0.0, 1e-6);
}

TEST_F(LossTest, EfficientAndReferenceGradientsAgree) {
  EditBatch reference_batch = batch_;
  std::vector<torch::Tensor> grads;
  for (const ComputeMode mode : {ComputeMode::Efficient, ComputeMode::Reference}) {
    editor_->zero_grad();
    remedi_loss(*model_, *editor_, mode == ComputeMode::Efficient ? batch_ : reference_batch, nullptr, {},
                mode)
        .total.backward();
    grads.push_back(editor_->named_parameters()["w.weight"].grad().clone());
  }
  EXPECT_GT(grads[0].abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(grads[0], grads[1], 1e-3, 1e-5));
}

TEST_F(LossTest, CachedActivationsFollowEditorChanges) {
  // the efficient path caches unedited activations in the batch; a changed editor must still be exact
  torch::NoGradGuard no_grad;
  remedi_loss(*model_, *editor_, batch_, nullptr, {}, ComputeMode::Efficient);
  editor_->named_parameters()["w.bias"].add_(0.3);
  const double efficient =
      remedi_loss(*model_, *editor_, batch_, nullptr, {}, ComputeMode::Efficient).terms.at("total");
  EditBatch fresh = batch_;
  fresh.cached_layer = -1;
  const double reference =
      remedi_loss(*model_, *editor_, fresh, nullptr, {}, ComputeMode::Reference).terms.at("total");
  EXPECT_NEAR(efficient, reference, 1e-3);
}

TEST_F(LossTest, KeysAndValuesKeptBeforeTheEditGiveTheSameLossAndGradients) {
  // A batch that keeps them computes them on its first step and reads them on the next; a batch that
  // does not recomputes them each step. Both must give the same bits, before and after an editor change.
  EditBatch kept = batch_;
  kept.keep_prefix_keys_values = true;
  torch::Tensor bias = editor_->named_parameters()["w.bias"];
  for (int step = 0; step < 2; ++step) {
    std::vector<double> totals;
    std::vector<torch::Tensor> grads;
    for (EditBatch* batch : {&batch_, &kept}) {
      editor_->zero_grad();
      const LossResult loss = remedi_loss(*model_, *editor_, *batch, nullptr, {}, ComputeMode::Efficient);
      loss.total.backward();
      totals.push_back(loss.terms.at("total"));
      grads.push_back(bias.grad().clone());
    }
    EXPECT_EQ(totals[0], totals[1]) << "step " << step;
    EXPECT_TRUE(torch::equal(grads[0], grads[1])) << "step " << step;
    torch::NoGradGuard no_grad;
    bias.add_(0.3);
  }
  // Rows start at columns 2, 0 and 4 (their edits): 4 columns of the 6 are kept, for block 2 alone.
  EXPECT_EQ(batch_.prefix_cache_bytes(), 0);
  ASSERT_EQ(kept.cached_prefix_keys_values.keys.size(), 3U);
  EXPECT_FALSE(kept.cached_prefix_keys_values.keys[kLayer].defined());
  const torch::Tensor& keys = kept.cached_prefix_keys_values.keys[kLayer + 1];
  EXPECT_EQ(keys.size(0), 3);
  EXPECT_EQ(keys.size(2), 4);
  EXPECT_EQ(kept.prefix_cache_bytes(), 2 * keys.numel() * 4);
  // The kept values are what the next step reads: changing them changes the loss.
  const double before =
      remedi_loss(*model_, *editor_, kept, nullptr, {}, ComputeMode::Efficient).terms.at("total");
  kept.cached_prefix_keys_values.values[kLayer + 1].mul_(2.0);
  const double changed =
      remedi_loss(*model_, *editor_, kept, nullptr, {}, ComputeMode::Efficient).terms.at("total");
  EXPECT_NE(before, changed);
  kept.drop_prefix_cache();
  EXPECT_FALSE(kept.keep_prefix_keys_values);
  EXPECT_EQ(kept.prefix_cache_bytes(), 0);
}

TEST_F(LossTest, GradientMatchesFiniteDifferences) {
  LossWeights weights;
  weights.norm = 0.1;
  torch::Tensor bias = editor_->named_parameters()["w.bias"];
  editor_->zero_grad();
  remedi_loss(*model_, *editor_, batch_, nullptr, weights, ComputeMode::Efficient).total.backward();
  const torch::Tensor analytic = bias.grad().clone();
  torch::NoGradGuard no_grad;
  constexpr double kStep = 1e-2;
  for (const std::int64_t i : {0, 13, 40}) {
    bias[i].add_(kStep);
    const double up =
        remedi_loss(*model_, *editor_, batch_, nullptr, weights, ComputeMode::Efficient).terms.at("total");
    bias[i].sub_(2 * kStep);
    const double down =
        remedi_loss(*model_, *editor_, batch_, nullptr, weights, ComputeMode::Efficient).terms.at("total");
    bias[i].add_(kStep);
    const double numeric = (up - down) / (2 * kStep);
    EXPECT_NEAR(analytic[i].item<double>(), numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << "bias " << i;
  }
}

TEST_F(LossTest, EssenceTermIsKlAtTheLastEssenceToken) {
  torch::NoGradGuard no_grad;
  EditBatch essence = test::tiny_batch(model_->config().hidden_size, 12);
  LossWeights weights;
  weights.essence = 2.0;
  const LossResult loss = remedi_loss(*model_, *editor_, batch_, &essence, weights, ComputeMode::Reference);
  const torch::Tensor d = editor_->forward(batch_.entity_inputs, batch_.attribute_inputs);
  lm::ForwardOptions options;
  options.logits = lm::LogitsAt::Last;
  const torch::Tensor orig = torch::log_softmax(model_->forward(essence.tokens, options).logits, -1);
  options.interventions.push_back({kLayer, d, essence.edit_ranges, 1.0, 1.0});
  const torch::Tensor edited = torch::log_softmax(model_->forward(essence.tokens, options).logits, -1);
  const double expected = (orig.exp() * (orig - edited)).sum(-1).mean().item<double>();
  EXPECT_NEAR(loss.terms.at("essence"), 2.0 * expected, 1e-4);
  const LossResult efficient =
      remedi_loss(*model_, *editor_, batch_, &essence, weights, ComputeMode::Efficient);
  EXPECT_NEAR(efficient.terms.at("essence"), 2.0 * expected, 1e-4);
}

}  // namespace
}  // namespace remedi
