// evaluate::fact_mediation (METHOD §8.12) on the tiny GPT-2 fixture: every log-prob, verdict and top
// token recomputed from a plain forward of the prompt (and of the prompt after its context), and the
// accuracies as the means of those verdicts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "data/derived.h"
#include "data/sample.h"
#include "eval/results_layout.h"
#include "evaluate/fact_mediation.h"
#include "evaluate/forward_checks.h"
#include "io/expect_error.h"
#include "test_support.h"

namespace remedi {
namespace {

TEST(FactMediationEvaluation, VerdictsAndAccuraciesFollowFromPlainForwards) {
  const std::string folder = test::temp_dir("evaluate_fact_mediation");
  evaluate::EvalOptions options;
  test::tiny_run(options, "fm", folder, {}, test::write_tiny_counterfact(folder), 4);
  options.data.split = "train[1:7]";
  const lm::LoadedModel& model = test::tiny_gpt2();
  const evaluate::FactMediationResults results = evaluate::fact_mediation(model, options);
  const std::vector<data::MediationSample> samples =
      evaluate::load_samples({"counterfact", options.data.file, "train[1:7]", "", options.data.seed});
  const nlohmann::json records = test::read_json(eval::records_file(folder + "/fm", "mediation"));
  const nlohmann::json metrics = test::read_json(eval::metrics_file(folder + "/fm", "mediation"));
  EXPECT_EQ(metrics, results.metrics);
  ASSERT_EQ(records.size(), 6U);
  double knows = 0.0;
  double follows = 0.0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const data::MediationSample& s = samples[i];
    const nlohmann::json& record = records[i];
    EXPECT_EQ(record["id"], s.id);
    EXPECT_EQ(record["target_true"], *s.target_unmediated);
    EXPECT_EQ(record["prompt_in_context"], data::prompt_in_context(s));
    for (const bool contextual : {false, true}) {
      const std::string text = contextual ? data::prompt_in_context(s) : s.prompt;
      const test::PlainForward f = test::plain_forward(model, text);
      const nlohmann::json& task = record[contextual ? "contextual" : "decontextual"];
      const double logp_true = test::next_word_logp(model, text, *s.target_unmediated);
      const double logp_new = test::next_word_logp(model, text, s.target_mediated);
      EXPECT_NEAR(task["logp_true"].get<double>(), logp_true, 1e-4);
      EXPECT_NEAR(task["logp_new"].get<double>(), logp_new, 1e-4);
      const bool verdict = contextual ? logp_new > logp_true : logp_true > logp_new;
      EXPECT_EQ(task[contextual ? "follows_context" : "knows"].get<bool>(), verdict);
      (contextual ? follows : knows) += verdict ? 1.0 : 0.0;
      // The three most likely next tokens, decoded, with their log-probs.
      const auto [top_logp, top_ids] = f.next_logp.topk(3);
      for (std::int64_t k = 0; k < 3; ++k) {
        EXPECT_EQ(task["top_tokens"][k], model.tok().decode({top_ids[k].item<std::int64_t>()}));
        EXPECT_NEAR(task["top_logps"][k].get<double>(), top_logp[k].item<double>(), 1e-4);
      }
    }
  }
  EXPECT_DOUBLE_EQ(results.knows, knows / 6.0);
  EXPECT_DOUBLE_EQ(results.follows, follows / 6.0);
  EXPECT_DOUBLE_EQ(metrics["decontextual"]["accuracy"]["mean"].get<double>(), knows / 6.0);
  EXPECT_DOUBLE_EQ(metrics["contextual"]["accuracy"]["mean"].get<double>(), follows / 6.0);
  EXPECT_EQ(metrics["samples"], 6);
  std::filesystem::remove_all(folder);
}

TEST(FactMediationEvaluation, BadRowsNameTheFlagAndWriteNothing) {
  const std::string folder = test::temp_dir("evaluate_fact_mediation_bad");
  evaluate::EvalOptions options;
  test::tiny_run(options, "fm", folder, {}, test::write_tiny_counterfact(folder), 4);
  options.data.split = "train[8:9]";
  test::expect_error_containing([&] { evaluate::fact_mediation(test::tiny_gpt2(), options); }, "<argument>",
                                "--rows", "selects 0 of the data set's 8 samples");
  EXPECT_FALSE(std::filesystem::exists(folder + "/fm"));
  std::filesystem::remove_all(folder);
}

TEST(FactMediationEvaluation, ABadSampleIsNamedByItsFile) {
  // A -d samples file without the true targets CounterFact has: the error names that file.
  const std::string folder = test::temp_dir("evaluate_fact_mediation_bad_sample");
  evaluate::EvalOptions options;
  test::tiny_run(options, "fm", folder, {}, test::write_tiny_counterfact(folder), 4);
  std::vector<data::MediationSample> rows = evaluate::load_samples(options.data);
  rows[0].target_unmediated.reset();
  const std::string file = folder + "/samples.jsonl";
  data::write_samples(file, rows);
  options.data = {"samples", file, "", "", options.data.seed};
  test::expect_error([&] { evaluate::fact_mediation(test::tiny_gpt2(), options); }, file,
                     "sample " + rows[0].id + " target_unmediated", "missing (CounterFact needed)");
  EXPECT_FALSE(std::filesystem::exists(folder + "/fm"));
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace remedi
