// Continuing prompts (lm/completion.h) on the tiny GPT-2 fixture with a byte-level tokenizer: the
// tokens are lm::generate's, every step's log-probability and alternatives are the log-softmax of a
// plain forward pass over the prompt and the tokens chosen so far, the text is their decoding.
#include "lm/completion.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "io/expect_error.h"
#include "test_support.h"
#include "tiny_model.h"

namespace remedi::lm {
namespace {

// Batched, KV-cached steps against plain unbatched forwards: the same sums in other orders. Seen
// once under a loaded ctest -j2: 1.1e-4 apart on log-probs of size 3 (not reproduced in 40 runs).
constexpr double kLogprobTolerance = 1e-3;

TEST(Completion, StepsAreTheForwardPassesLogSoftmax) {
  const std::string dir = test::temp_dir("completion");
  const LoadedModel model = test::tiny_model();
  GenerateOptions options;
  options.max_new_tokens = 5;
  options.logprobs = 3;
  const std::vector<std::string> prompts = {"the city of paris is in", "rome"};
  const std::vector<Completion> completions = complete_prompts(model, prompts, options);
  ASSERT_EQ(completions.size(), 2U);
  torch::NoGradGuard no_grad;
  for (std::size_t row = 0; row < prompts.size(); ++row) {
    const Completion& c = completions[row];
    EXPECT_EQ(c.prompt, prompts[row]);
    EXPECT_EQ(c.prompt_ids, model.tok().encode(prompts[row]).ids);
    ASSERT_FALSE(c.ids.empty());
    ASSERT_EQ(c.steps.size(), c.ids.size());
    EXPECT_EQ(c.text, model.tok().decode(c.ids, /*skip_special_tokens=*/true));
    // Replay unbatched: the prompt alone, then each chosen token appended.
    std::vector<std::int64_t> ids = c.prompt_ids;
    for (std::size_t s = 0; s < c.steps.size(); ++s) {
      const torch::Tensor input = torch::tensor(ids, torch::kInt64).unsqueeze(0);
      const torch::Tensor logprobs =
          torch::log_softmax(model.lm().forward({input, torch::Tensor()}).logits[0][-1], -1);
      const CompletionStep& step = c.steps[s];
      EXPECT_EQ(step.token.id, c.ids[s]);
      // Greedy: the chosen token is the replay's most likely one, up to a near-tie (the batched,
      // KV-cached steps and the plain forwards differ by float rounding, which can swap two tokens
      // whose log-probabilities are within the tolerance; seen once under a loaded ctest -j2).
      EXPECT_GE(logprobs[step.token.id].item<float>(), logprobs.max().item<float>() - kLogprobTolerance)
          << "greedy, step " << s;
      EXPECT_EQ(step.token.text, model.tok().decode({step.token.id}));
      EXPECT_NEAR(step.token.logprob, logprobs[step.token.id].item<float>(), kLogprobTolerance);
      ASSERT_EQ(step.top.size(), 3U);
      const torch::Tensor values = std::get<0>(logprobs.topk(3));
      for (std::size_t k = 0; k < 3; ++k) {
        // The token at rank k has the replay's k-th value (near-ties may swap ranks, as above).
        const float kth = values[static_cast<std::int64_t>(k)].item<float>();
        EXPECT_NEAR(logprobs[step.top[k].id].item<float>(), kth, kLogprobTolerance) << "rank " << k;
        EXPECT_NEAR(step.top[k].logprob, kth, kLogprobTolerance);
      }
      ids.push_back(c.ids[s]);
    }
    const nlohmann::json json = completion_json(c);
    EXPECT_EQ(json["completion"], c.text);
    EXPECT_EQ(json["steps"].size(), c.steps.size());
    EXPECT_EQ(json["steps"][0]["top_logprobs"].size(), 3U);
  }
  test::expect_error_containing(
      [&] {
        complete_prompts(model, {"rome", ""}, options);
      },
      "<argument>", "--prompt", "prompt 1 is empty");
  // A prompt longer than the context (128 tokens) is refused, not cut to its first 128 tokens.
  std::string long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt += "paris rome ";
  const std::size_t tokens = model.tok().encode(long_prompt).ids.size();
  ASSERT_GT(tokens, 128U);
  test::expect_error(
      [&] {
        complete_prompts(model, {"rome", long_prompt}, options);
      },
      "<argument>", "--prompt",
      "prompt 1 has " + std::to_string(tokens) + " tokens, more than the model's context of 128");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace remedi::lm
