// `remedi generate` end to end: JSON shape, greedy consistency, bad input, and the README's claim.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

TEST(GenerateCli, JsonReportsEveryStepWithTopLogprobs) {
  const auto result =
      test::run_remedi({"generate", "--model", test::fixture("lm/llama_gqa/model.gguf"), "--prompt",
                        "The capital", "--max-new-tokens", "3", "--json", "--logprobs", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto out = nlohmann::json::parse(result.out);
  ASSERT_EQ(out["results"].size(), 1U);
  const auto& row = out["results"][0];
  EXPECT_FALSE(row["prompt_ids"].empty());
  ASSERT_EQ(row["steps"].size(), 3U);
  for (const auto& step : row["steps"]) {
    ASSERT_EQ(step["top_logprobs"].size(), 4U);
    // greedy: the chosen token is the most likely one, and the list is sorted
    EXPECT_EQ(step["id"], step["top_logprobs"][0]["id"]);
    EXPECT_FLOAT_EQ(step["logprob"].get<float>(), step["top_logprobs"][0]["logprob"].get<float>());
    EXPECT_GE(step["top_logprobs"][0]["logprob"].get<float>(),
              step["top_logprobs"][3]["logprob"].get<float>());
    EXPECT_LE(step["logprob"].get<float>(), 0.0F);
  }
}

TEST(GenerateCli, BadArgumentsGiveOneLineAndExitTwo) {
  const auto result = test::run_remedi(
      {"generate", "--model", test::fixture("lm/llama_gqa/model.gguf"), "--prompt", "x", "--dtype", "fp8"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--dtype"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
  // Non-finite sampling temperatures and negative counts are refused before anything runs.
  const std::string model = test::fixture("lm/llama_gqa/model.gguf");
  for (const char* temperature : {"nan", "inf", "-inf"}) {
    test::expect_one_line_error(test::run_remedi({"generate", "--model", model, "--prompt", "x", "--top-k",
                                                  "5", "--temperature", temperature}),
                                "--temperature: must be a finite number");
  }
  test::expect_one_line_error(
      test::run_remedi({"generate", "--model", model, "--prompt", "x", "--json", "--logprobs", "-1"}),
      "--logprobs: must be >= 0");
}

TEST(GenerateCli, SmolLM2SaysParis) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const auto result = test::run_remedi({"generate", "--model", test::default_model_path(), "--prompt",
                                        "The capital of France is", "--max-new-tokens", "8"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Paris"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace remedi
