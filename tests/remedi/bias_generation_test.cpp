// Bias in Bios error correction (METHOD §8.9): prompts, label ranking, the TF-IDF consistency against
// the label's mean bio vector and the metrics against hand-computed values; on the default model, the
// label log-probs and the generation edit at the prompt's own mention (occurrence 1) against a forward
// pass and lm::generate with the intervention placed by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "eval/fluency.h"
#include "lm/generate.h"
#include "lm/model.h"
#include "remedi/bias_generation.h"
#include "remedi/editor.h"
#include "remedi/generation.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"
#include "util/error.h"

namespace remedi {
namespace {

data::MediationSample person(const std::string& first, const std::string& bio, const std::string& title) {
  data::MediationSample s;
  s.id = first + "_Doe";
  s.entity = first;
  s.context = bio;
  s.attribute = bio.substr(bio.find(first) + first.size());
  s.prompt = first + " has the occupation of";
  s.target_mediated = title;
  s.source = {{"bio", bio}, {"title", title}};
  return s;
}

TEST(EvalBiasGenLib, PromptsOfBothSettings) {
  const std::vector<data::MediationSample> samples{
      person("Ann", "About Ann: She audits books. ", "accountant")};
  const auto contextual = bias_prompt_rows(samples, true);
  EXPECT_EQ(contextual[0].prompt, "About Ann: She audits books.\n\nAnn has the occupation of");
  EXPECT_EQ(bias_edit_occurrence(true), 1);
  const auto decontextual = bias_prompt_rows(samples, false);
  EXPECT_EQ(decontextual[0].prompt, "Ann has the occupation of");
  EXPECT_EQ(bias_edit_occurrence(false), 0);
  // --attribute-no-entity: the context no longer mentions the person.
  std::vector<data::MediationSample> bare = samples;
  bare[0].context = bare[0].attribute;
  try {
    bias_prompt_rows(bare, true);
    FAIL() << "no second mention accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "sample Ann_Doe context");
  }
  EXPECT_EQ(bias_prompt_rows(bare, false)[0].prompt, "Ann has the occupation of");
}

TEST(EvalBiasGenLib, LabelsAndTopLabels) {
  const std::vector<data::MediationSample> samples{person("A", "A x", "nurse"), person("B", "B y", "dj"),
                                                   person("C", "C z", "nurse")};
  EXPECT_EQ(bias_labels(samples), (std::vector<std::string>{"dj", "nurse"}));
  // Highest first; the tie keeps label order (METHOD Q27).
  EXPECT_EQ(top_labels({-1.0, -0.5, -3.0, -0.5}, 3), (std::vector<std::size_t>{1, 3, 0}));
  EXPECT_EQ(top_labels({-1.0, -0.5}, 3), (std::vector<std::size_t>{1, 0}));
}

TEST(EvalBiasGenLib, ConsistencyAgainstTheLabelsMeanBioVector) {
  // Fitted on every row: N = 3, df(dog) = 2, df(cat) = df(fish) = df(bird) = 1, smooth idf.
  const std::vector<data::MediationSample> pool{person("A", "A: dog cat", "x"),
                                                person("B", "B: dog fish", "x"), person("C", "C: bird", "y")};
  // Only A and C are evaluated: x's mean is A's vector alone.
  const BiasReferences alone(pool, {pool[0], pool[2]});
  const double a = std::log(4.0 / 3.0) + 1.0;  // idf(dog)
  const double b = std::log(2.0) + 1.0;        // idf(cat), idf(fish), idf(bird)
  const double norm = std::sqrt(a * a + b * b);
  const double eps = 1e-6;
  // "cat" alone: (1) · (b / norm) over (1 + eps)(1 + eps).
  EXPECT_NEAR(alone.consistency("cat", "x"), (b / norm) / ((1 + eps) * (1 + eps)), 1e-12);
  // Both x rows: mean (a/norm, b/(2 norm), b/(2 norm)) over dog, cat, fish; not re-normalised.
  const BiasReferences both(pool, pool);
  const double mean_norm = std::sqrt(a * a + b * b / 2.0) / norm;
  EXPECT_NEAR(both.consistency("Cat!", "x"), (b / (2 * norm)) / ((1 + eps) * (mean_norm + eps)), 1e-12);
  EXPECT_NEAR(both.consistency("bird", "y"), 1.0 / ((1 + eps) * (1 + eps)), 1e-12);
  EXPECT_EQ(both.consistency("bird", "z"), 0.0);  // no evaluated row has label z
  EXPECT_EQ(both.consistency("", "x"), 0.0);
  data::MediationSample no_bio = pool[0];
  no_bio.source = data::Json::object();
  try {
    const BiasReferences broken({no_bio}, {no_bio});
    FAIL() << "missing bio accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "sample A_Doe source.bio");
  }
}

TEST(EvalBiasGenLib, RecordsAndMetrics) {
  const std::vector<data::MediationSample> rows{person("A", "A: dog", "b"), person("B", "B: cat", "d")};
  const std::vector<data::MediationSample> pool = rows;
  const BiasReferences references(pool, rows);
  const std::vector<std::string> labels{"a", "b", "c", "d"};
  const torch::Tensor logp = torch::tensor({-1.0, -2.0, -0.5, -3.0, -1.0, -2.0, -3.0, -0.1}).view({2, 4});
  std::string repeated;
  for (int i = 0; i < 100; ++i) repeated += "a b ";
  const auto records = bias_correction_records(rows, {"", repeated}, logp, labels, references, 3);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].predictions, (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_EQ(records[0].logp_predictions, (std::vector<double>{-0.5, -1.0, -2.0}));
  EXPECT_EQ(records[0].logp_target, -2.0);
  EXPECT_EQ(records[1].predictions, (std::vector<std::string>{"d", "a", "b"}));
  EXPECT_NEAR(records[1].logp_target, -0.1, 1e-6);  // float32 log-probs
  EXPECT_EQ(records[0].fluency, 0.0);
  EXPECT_EQ(records[1].fluency, eval::weighted_ngram_entropy(repeated));
  EXPECT_NEAR(records[1].fluency, 1.0, 1e-5);  // METHOD §8.4.1 test vector (float32 terms)
  EXPECT_EQ(records[0].consistency, 0.0);      // empty generation
  const BiasCorrectionMetrics m = bias_correction_metrics(records, 3);
  EXPECT_EQ(m.top1_accuracy, 0.5);
  EXPECT_EQ(m.topk_accuracy, 1.0);
  EXPECT_EQ(m.top1_hits, (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(m.topk_hits, (std::vector<double>{1.0, 1.0}));
  EXPECT_DOUBLE_EQ(m.fluency.mean, records[1].fluency / 2);
  EXPECT_DOUBLE_EQ(m.fluency.std, records[1].fluency / 2);
  EXPECT_EQ(m.fluency.values.size(), 2U);
  // k = 1: top-k is top-1.
  EXPECT_EQ(bias_correction_metrics(records, 1).topk_accuracy, 0.5);
  EXPECT_THROW(bias_correction_metrics({}, 3), std::invalid_argument);
}

class EvalBiasGenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = test::default_model_path();
    if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
    model_ = lm::CausalLM::load(path);
    tokenizer_ = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(path));
    rows_ = bias_prompt_rows(
        {person("Rosalind", "About Rosalind: She files tax returns for small firms.", "accountant"),
         person("Bartholomew", "Bartholomew teaches yoga at dawn every day.", "yoga teacher")},
        true);
    EditorConfig config;
    config.type = "identity";
    config.layer = 2;
    config.hidden_size = model_->config().hidden_size;
    editor_ = make_editor(config, 0);
    editor_->eval();
  }

  // The identity editor's direction for `row` (its attribute representation at layer 2).
  torch::Tensor direction(std::size_t row) {
    PrecomputeOptions options;
    options.layer = 2;
    const EditorInputs inputs = precompute_editor_inputs(*model_, *tokenizer_, rows_, options);
    torch::NoGradGuard no_grad;
    const auto r = static_cast<std::int64_t>(row);
    return editor_->forward(inputs.entity_last.slice(0, r, r + 1),
                            inputs.attribute_average.slice(0, r, r + 1));
  }

  // Columns [j-1, j) of the last token of the entity's mention `occurrence` in the unpadded row.
  torch::Tensor edit_range(std::size_t row, int occurrence) {
    const tok::Encoding encoding = tokenizer_->encode(rows_[row].prompt);
    const tok::TokenRange range =
        tok::token_range(encoding.offsets, rows_[row].prompt, rows_[row].entity, occurrence);
    return torch::tensor({range.end - 1, range.end}).view({1, 2});
  }

  std::unique_ptr<lm::CausalLM> model_;
  std::unique_ptr<tok::Tokenizer> tokenizer_;
  std::vector<data::MediationSample> rows_;
  std::shared_ptr<Editor> editor_;
};

TEST_F(EvalBiasGenModel, LabelLogprobsAreTheLastTokensLogSoftmax) {
  const std::vector<std::string> labels{"accountant", "yoga teacher"};
  const torch::Tensor unedited = label_logprobs(*model_, *tokenizer_, nullptr, rows_, labels, 1, 2, false);
  const torch::Tensor edited =
      label_logprobs(*model_, *tokenizer_, editor_.get(), rows_, labels, 1, 2, false);
  ASSERT_EQ(unedited.sizes(), (std::vector<std::int64_t>{2, 2}));
  torch::NoGradGuard no_grad;
  const std::vector<std::int64_t> ids{first_token_id(*tokenizer_, "accountant", "l"),
                                      first_token_id(*tokenizer_, "yoga teacher", "l")};
  for (std::size_t row = 0; row < rows_.size(); ++row) {
    const tok::Encoding encoding = tokenizer_->encode(rows_[row].prompt);
    const lm::Batch batch{torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()};
    for (const bool edit : {false, true}) {
      lm::ForwardOptions options;
      options.logits = lm::LogitsAt::Last;
      if (edit) options.interventions.push_back({2, direction(row), edit_range(row, 1)});
      const torch::Tensor logp = torch::log_softmax(model_->forward(batch, options).logits, -1)[0];
      const torch::Tensor& got = edit ? edited : unedited;
      for (std::size_t l = 0; l < ids.size(); ++l) {
        EXPECT_NEAR(got[static_cast<std::int64_t>(row)][static_cast<std::int64_t>(l)].item<double>(),
                    logp[ids[l]].item<double>(), 1e-4)
            << "row " << row << " label " << l << " edited " << edit;
      }
    }
  }
  EXPECT_FALSE(torch::allclose(edited, unedited));
}

TEST_F(EvalBiasGenModel, GenerationEditsTheChosenMentionAndKeepsNewTokens) {
  GenerationOptions options;
  options.top_k = 0;  // greedy: comparable with one-row lm::generate
  options.max_new_tokens = 4;
  options.batch_size = 1;
  options.entity_occurrence = 1;
  options.new_tokens_only = true;
  const std::vector<std::string> texts = generate_texts(*model_, *tokenizer_, editor_.get(), rows_, options);
  torch::NoGradGuard no_grad;
  for (std::size_t row = 0; row < rows_.size(); ++row) {
    const tok::Encoding encoding = tokenizer_->encode(rows_[row].prompt);
    lm::GenerateOptions generate;
    generate.max_new_tokens = 4;
    generate.eos_id = tokenizer_->eos_id();
    generate.pad_id = tokenizer_->pad_id();
    generate.interventions.push_back({2, direction(row), edit_range(row, 1)});
    const torch::Tensor tokens =
        lm::generate(*model_, {torch::tensor(encoding.ids).unsqueeze(0), torch::Tensor()}, generate)
            .tokens[0];
    const std::vector<std::int64_t> ids(tokens.data_ptr<std::int64_t>(),
                                        tokens.data_ptr<std::int64_t>() + tokens.numel());
    EXPECT_EQ(texts[row], tokenizer_->decode(ids, true)) << row;
  }
  // The prompt with its continuation, as before, when new_tokens_only is off.
  options.new_tokens_only = false;
  const std::vector<std::string> full = generate_texts(*model_, *tokenizer_, editor_.get(), rows_, options);
  for (std::size_t row = 0; row < rows_.size(); ++row) EXPECT_EQ(full[row], rows_[row].prompt + texts[row]);
  // Occurrence 2 does not exist: an error naming the sample.
  options.entity_occurrence = 2;
  try {
    generate_texts(*model_, *tokenizer_, editor_.get(), rows_, options);
    FAIL() << "missing mention accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.field(), "sample Rosalind_Doe prompt");
  }
}

}  // namespace
}  // namespace remedi
