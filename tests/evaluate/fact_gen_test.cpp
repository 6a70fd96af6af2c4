// evaluate::fact_gen (METHOD §8.2-8.7, §8.15) on the tiny random Llama fixture with editors made here:
// the scores in the records recomputed from the model's logits (unedited, and edited through
// prepare_edits), the metrics recomputed from the records, the baselines' prompts, the generation and
// essence metrics recomputed from the written texts, the cache (METHOD §8.14) and the layer rule.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/derived.h"
#include "evaluate/fact_gen.h"
#include "evaluate/fact_gen_checks.h"
#include "lm/loaded_model.h"
#include "remedi/edit.h"
#include "remedi/editor.h"
#include "remedi/editor_file.h"
#include "remedi/precompute.h"
#include "test_support.h"
#include "tiny_model.h"
#include "util/error.h"

namespace remedi {
namespace {

using test::read_json;

class FactGenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new lm::LoadedModel(test::tiny_model("llama_gqa"));
    dir_ = new std::string(test::temp_dir("fact_gen_test"));
    // Two random linear editors (attribute input only), at layers 0 and 1 of the 3-block model.
    for (const std::int64_t layer : {0, 1}) {
      EditorConfig config;
      config.type = "linear";
      config.layer = layer;
      config.hidden_size = model_->lm().config().hidden_size;
      const std::shared_ptr<Editor> editor = make_editor(config, 11 + static_cast<std::uint64_t>(layer));
      save_editor(*editor, editor_folder(editors(), "linear", layer), model_->lm());
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete model_;
    dir_ = nullptr;
    model_ = nullptr;
  }
  static std::string editors() { return *dir_ + "/editors"; }
  static std::string results() { return *dir_ + "/results"; }

  static evaluate::FactGenOptions options(const std::string& name, std::vector<std::string> benchmarks) {
    evaluate::FactGenOptions o;
    o.name = name;
    o.model = "llama_gqa";
    o.editors = editors();
    o.layers = {1};
    o.data.split = "train[5000:5003]";
    o.batch_size = 2;  // several batches, the last one short
    o.results = results();
    o.quiet = true;
    o.benchmarks = std::move(benchmarks);
    return o;
  }

  // log p(tok1(" " + target) | prompt) of the model, edited at the entity's last token by `editor`
  // with the sample's attribute when `editor` is given (prepare_edits: one left-padded forward).
  static double next_logp(const nlohmann::json& record, const std::string& target,
                          const std::shared_ptr<Editor>& editor) {
    torch::NoGradGuard no_grad;
    EditRequest request;
    request.prompt = record["prompt"];
    request.entity = record["entity"];
    request.context = record["context"];
    request.attribute = record["attribute"];
    request.editor = editor;
    const PreparedEdits edits = prepare_edits(*model_, {request});
    lm::ForwardOptions forward;
    forward.logits = lm::LogitsAt::Last;
    forward.interventions = edits.interventions;
    const torch::Tensor logp =
        torch::log_softmax(model_->lm().forward(edits.prompts.batch, forward).logits, -1);
    return logp[0][first_token_id(model_->tok(), target, "target")].item<double>();
  }

  static lm::LoadedModel* model_;
  static std::string* dir_;
};

lm::LoadedModel* FactGenTest::model_ = nullptr;
std::string* FactGenTest::dir_ = nullptr;

double mean(const std::vector<double>& values) {
  double total = 0;
  for (const double v : values) total += v;
  return total / static_cast<double>(values.size());
}

// Per sample (in first-appearance order of the records' ids): the fraction of its records where
// `a` > `b` and the mean of exp(a) - exp(b); returns the means over samples (score, magnitude).
std::pair<double, double> efficacy_of(const nlohmann::json& records, const std::string& a,
                                      const std::string& b) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::pair<double, double>>> by_id;
  for (const auto& record : records) {
    const std::string id = record["id"];
    if (by_id.count(id) == 0) order.push_back(id);
    by_id[id].emplace_back(record[a].get<double>(), record[b].get<double>());
  }
  std::vector<double> scores;
  std::vector<double> magnitudes;
  for (const std::string& id : order) {
    std::vector<double> wins;
    std::vector<double> differences;
    for (const auto& [x, y] : by_id[id]) {
      wins.push_back(x > y ? 1.0 : 0.0);
      differences.push_back(std::exp(x) - std::exp(y));
    }
    scores.push_back(mean(wins));
    magnitudes.push_back(mean(differences));
  }
  return {mean(scores), mean(magnitudes)};
}

void expect_efficacy(const nlohmann::json& metrics, const nlohmann::json& records, const std::string& side,
                     bool keeps_true) {
  const std::string mediated = side + "target_mediated_score";
  const std::string unmediated = side + "target_unmediated_score";
  const auto [score, magnitude] =
      keeps_true ? efficacy_of(records, unmediated, mediated) : efficacy_of(records, mediated, unmediated);
  EXPECT_NEAR(metrics["score"]["mean"].get<double>(), score, 1e-12) << side;
  EXPECT_NEAR(metrics["magnitude"]["mean"].get<double>(), magnitude, 1e-12) << side;
}

TEST_F(FactGenTest, ScoresAreTheModelsLogProbabilitiesBeforeAndAfterTheEdit) {
  const evaluate::FactGenResults r =
      evaluate::fact_gen(*model_, options("scores", {"efficacy", "paraphrase", "neighborhood"}));
  const std::string folder = results() + "/scores/linear/1/";
  EXPECT_EQ(r.experiment, results() + "/scores");
  EXPECT_TRUE(r.layer_selection.is_null());  // no generation benchmark
  const std::shared_ptr<Editor> editor = load_editor(editors(), "linear", 1, model_->lm());

  const nlohmann::json efficacy = read_json(folder + "efficacy.json");
  ASSERT_EQ(efficacy.size(), 3U);
  EXPECT_EQ(efficacy[0]["id"], "5000");
  double largest_change = 0;
  for (const auto& record : efficacy) {
    for (const char* target : {"target_mediated", "target_unmediated"}) {
      const std::string word = record[target];
      const double before = next_logp(record, word, nullptr);
      const double after = next_logp(record, word, editor);
      EXPECT_NEAR(record["before_" + std::string(target) + "_score"].get<double>(), before, 1e-4) << word;
      EXPECT_NEAR(record["after_" + std::string(target) + "_score"].get<double>(), after, 1e-4) << word;
      largest_change = std::max(largest_change, std::abs(after - before));
    }
    ASSERT_EQ(record["after_top_logps"].size(), 10U);
    EXPECT_GE(record["after_top_logps"][0].get<double>(), record["after_top_logps"][9].get<double>());
    EXPECT_GE(record["after_top_logps"][0].get<double>(),
              record["after_target_mediated_score"].get<double>());
  }
  EXPECT_GT(largest_change, 1e-3);  // the random editor does move the scores

  const nlohmann::json metrics = read_json(folder + "efficacy_metrics.json");
  EXPECT_EQ(metrics, r.metrics["1"]["efficacy"]);
  EXPECT_EQ(metrics["samples"], 3);
  EXPECT_EQ(metrics["prompts"], 3);
  expect_efficacy(metrics, efficacy, "after_", false);
  expect_efficacy(metrics["unedited"], efficacy, "before_", false);

  // Paraphrase: one row per distinct paraphrase prompt, grouped by sample.
  const nlohmann::json paraphrase = read_json(folder + "paraphrase.json");
  const nlohmann::json paraphrase_metrics = read_json(folder + "paraphrase_metrics.json");
  std::size_t prompts = 0;
  for (const auto& sample : efficacy) {
    std::set<std::string> distinct;
    for (const auto& p : sample["source"]["paraphrase_prompts"]) distinct.insert(p.get<std::string>());
    prompts += distinct.size();
  }
  ASSERT_EQ(paraphrase.size(), prompts);
  EXPECT_EQ(paraphrase_metrics["prompts"], prompts);
  const auto& first = paraphrase[0];
  EXPECT_NEAR(first["after_target_mediated_score"].get<double>(),
              next_logp(first, first["target_mediated"], editor), 1e-4);
  expect_efficacy(paraphrase_metrics, paraphrase, "after_", false);
  expect_efficacy(paraphrase_metrics["unedited"], paraphrase, "before_", false);

  // Neighbourhood prompts name other subjects: nothing is edited and success is keeping the true object.
  const nlohmann::json neighborhood = read_json(folder + "neighborhood.json");
  ASSERT_FALSE(neighborhood.empty());
  for (const auto& record : neighborhood) {
    ASSERT_EQ(record["prompt"].get<std::string>().find(record["entity"].get<std::string>()),
              std::string::npos);
    EXPECT_EQ(record["after_target_mediated_score"], record["before_target_mediated_score"]);
    EXPECT_NEAR(record["before_target_unmediated_score"].get<double>(),
                next_logp(record, record["target_unmediated"], nullptr), 1e-4);
  }
  expect_efficacy(read_json(folder + "neighborhood_metrics.json"), neighborhood, "after_", true);

  EXPECT_EQ(r.summary()["layers"], r.metrics);
  EXPECT_EQ(r.summary()["type"], "linear");
}

// METHOD §8.14: a benchmark whose metrics file exists is read back, not run again.
TEST_F(FactGenTest, FinishedBenchmarksAreReadBack) {
  const evaluate::FactGenOptions o = options("cache", {"efficacy"});
  evaluate::fact_gen(*model_, o);
  const std::string metrics_file = results() + "/cache/linear/1/efficacy_metrics.json";
  nlohmann::json marked = read_json(metrics_file);
  marked["score"]["mean"] = 42;
  test::write_file(metrics_file, marked.dump());
  std::filesystem::remove(results() + "/cache/linear/1/efficacy.json");
  const evaluate::FactGenResults again = evaluate::fact_gen(*model_, o);
  EXPECT_EQ(again.metrics["1"]["efficacy"]["score"]["mean"], 42);
  EXPECT_FALSE(std::filesystem::exists(results() + "/cache/linear/1/efficacy.json"));
}

// METHOD §8.7, prefix: the unedited LM on "<context>. <prompt>"; the records hold no edited scores.
TEST_F(FactGenTest, PrefixBaselineScoresThePromptInContext) {
  evaluate::FactGenOptions o = options("base", {"efficacy", "neighborhood"});
  o.baseline = "prefix";
  o.editors.clear();
  o.layers.clear();
  const evaluate::FactGenResults r = evaluate::fact_gen(*model_, o);
  const nlohmann::json records = read_json(results() + "/base/prefix/efficacy.json");
  ASSERT_EQ(records.size(), 3U);
  for (const auto& record : records) {
    const data::MediationSample sample = data::sample_from_json(data::Json(record), "records", "row");
    const std::string prompt = record["prompt"];
    EXPECT_TRUE(prompt.starts_with(sample.context)) << prompt;
    EXPECT_FALSE(record.contains("after_target_mediated_score"));
    EXPECT_NEAR(record["before_target_mediated_score"].get<double>(),
                next_logp(record, record["target_mediated"], nullptr), 1e-4);
  }
  const nlohmann::json metrics = read_json(results() + "/base/prefix/efficacy_metrics.json");
  expect_efficacy(metrics, records, "before_", false);
  EXPECT_EQ(metrics["samples"], 3);
  const nlohmann::json neighborhood = read_json(results() + "/base/prefix/neighborhood.json");
  for (const auto& record : neighborhood)
    EXPECT_TRUE(record["prompt"].get<std::string>().starts_with(record["context"].get<std::string>()));
  EXPECT_EQ(r.summary()["baseline"], "prefix");
  EXPECT_EQ(r.summary()["benchmarks"]["efficacy"], metrics);
}

// Fluency and consistency (METHOD §8.4) and essence (§8.5) recomputed from the texts fact_gen wrote,
// and METHOD §8.15's choice between the two editors from their metrics files.
TEST_F(FactGenTest, GenerationEssenceAndLayerSelectionFollowFromTheWrittenFiles) {
  evaluate::FactGenOptions o = options("gen", {"paraphrase", "generation", "essence"});
  o.layers = {0, 1};
  o.data.split = "train[5000:5002]";
  const evaluate::FactGenResults r = evaluate::fact_gen(*model_, o);
  for (const std::int64_t layer : {0, 1}) {
    const std::string folder = results() + "/gen/linear/" + std::to_string(layer) + "/";
    const nlohmann::json metrics = read_json(folder + "generation_metrics.json");
    EXPECT_EQ(metrics, r.metrics[std::to_string(layer)]["generation"]);
    test::expect_generation_metrics(
        read_json(folder + "generation.json"), metrics,
        read_json(results() + "/gen/" + metrics["references_file"].get<std::string>()), 2);
    const nlohmann::json essence_metrics = read_json(folder + "essence_metrics.json");
    const nlohmann::json essence_refs =
        read_json(results() + "/gen/" + essence_metrics["references_file"].get<std::string>());
    test::expect_essence_metrics(read_json(folder + "essence.json"), essence_metrics,
                                 essence_refs["references"].get<std::vector<std::string>>());
  }

  // The layer rule on the metrics the run wrote: the harmonic mean of the three, the higher one wins.
  const nlohmann::json selection = read_json(results() + "/gen/linear/layer_selection.json");
  EXPECT_EQ(selection, r.layer_selection);
  double best = -1;
  std::int64_t best_layer = -1;
  for (const std::int64_t layer : {0, 1}) {
    const nlohmann::json& m = r.metrics[std::to_string(layer)];
    const double p = m["paraphrase"]["score"]["mean"];
    const double c = m["generation"]["consistency"]["mean"];
    const double f = m["generation"]["fluency"]["mean"];
    const double h = p == 0 || c == 0 || f == 0 ? 0.0 : 3.0 / (1 / p + 1 / c + 1 / f);
    EXPECT_NEAR(selection["scores"][std::to_string(layer)].get<double>(), h, 1e-12) << layer;
    if (h > best) {
      best = h;
      best_layer = layer;
    }
  }
  EXPECT_EQ(selection["best_layer"], best_layer);
  EXPECT_EQ(r.summary()["layer_selection"], selection);
}

nlohmann::json layer_metrics(double paraphrase, double consistency, double fluency) {
  return {{"paraphrase", {{"score", {{"mean", paraphrase}}}}},
          {"generation", {{"consistency", {{"mean", consistency}}}, {"fluency", {{"mean", fluency}}}}}};
}

// METHOD §8.15 on hand-made metrics: 3 / (1/p + 1/c + 1/f); the first layer listed wins a tie.
TEST(FactGenLayerSelection, HarmonicMeanOfParaphraseConsistencyAndFluency) {
  const nlohmann::json metrics = {{"3", layer_metrics(0.5, 0.2, 5.0)},
                                  {"5", layer_metrics(1.0, 0.25, 4.0)},
                                  {"8", layer_metrics(0.25, 1.0, 4.0)},
                                  {"9", layer_metrics(1.0, 0.0, 4.0)}};
  const nlohmann::json selection = evaluate::fact_gen_layer_selection({3, 5, 8, 9}, metrics);
  EXPECT_NEAR(selection["scores"]["3"].get<double>(), 3.0 / (2.0 + 5.0 + 0.2), 1e-15);
  EXPECT_NEAR(selection["scores"]["5"].get<double>(), 3.0 / (1.0 + 4.0 + 0.25), 1e-15);
  EXPECT_EQ(selection["scores"]["5"], selection["scores"]["8"]);
  EXPECT_EQ(selection["scores"]["9"], 0.0);  // a zero criterion scores 0
  EXPECT_EQ(selection["best_layer"], 5);
  EXPECT_EQ(evaluate::fact_gen_layer_selection({8, 5}, metrics)["best_layer"], 8);
  EXPECT_EQ(evaluate::fact_gen_layer_selection({9}, metrics)["best_layer"], 9);
  EXPECT_EQ(evaluate::fact_gen_layer_selection({}, metrics)["best_layer"], -1);
  EXPECT_NE(selection["rule"].get<std::string>().find("8.15"), std::string::npos);
  EXPECT_THROW(evaluate::fact_gen_layer_selection({4}, metrics), nlohmann::json::out_of_range);
}

TEST(FactGenOptions, BadOptionsNameTheirFlag) {
  const auto message = [](const evaluate::FactGenOptions& o) {
    try {
      evaluate::check_fact_gen_options(o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  evaluate::FactGenOptions o;
  EXPECT_EQ(message(o), "");
  o.benchmarks = {"efficacy", "fluency"};
  EXPECT_NE(message(o).find("--benchmarks"), std::string::npos);
  o = {};
  o.baseline = "suffix";
  EXPECT_NE(message(o).find("suffix"), std::string::npos);
  o.baseline = "prefix";
  o.layers = {3};
  EXPECT_NE(message(o).find("--baseline"), std::string::npos);
  o = {};
  o.max_length = 1;
  EXPECT_NE(message(o).find("--max-length"), std::string::npos);
  EXPECT_EQ(evaluate::fact_gen_options_json(o)["max_length"], 1);
}

}  // namespace
}  // namespace remedi
