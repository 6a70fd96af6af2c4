// `remedi eval entailment` end to end with the identity editor (no training) and the prefix baseline,
// on synthetic McRae-layout data: the files it writes, metrics recomputed from its per-sample records
// (correlations, Δp, skipped samples, dropped zero-probability features), the synthetic-data label,
// skipping existing results, and one-line errors for bad input. The tiny Llama fixture runs always; the
// default SmolLM2 model when it has been fetched. None of these numbers are McRae results.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;
using test::read_json;

// A McRae-layout table small enough for the tiny model, built so that some samples lose a feature
// whose co-occurrence rounds to "0.00" (cat's a_pet is rare), have a single original feature (rock) or
// a constant reference (dog: both of its features at 30/30), so their correlations are skipped.
std::string write_tiny_table(const std::string& folder) {
  const std::string path = folder + "/mcrae_tiny_synthetic.tsv";
  test::write_file(path,
                   "Concept\tFeature\tBR_Label\tProd_Freq\tRank_PF\n"
                   "cat\ta_pet\tx\t1\t1\ncat\thas_fur\tx\t30\t2\ncat\tis_small\tx\t1\t3\n"
                   "dog\ta_pet\tx\t30\t1\ndog\thas_fur\tx\t30\t2\n"
                   "rock\tis_grey\tx\t12\t1\n"
                   "car\thas_wheels\tx\t30\t1\ncar\thas_an_engine\tx\t20\t2\ncar\tis_fast\tx\t10\t3\n"
                   "tree\thas_leaves\tx\t25\t1\ntree\thas_bark\tx\t20\t2\ntree\tis_tall\tx\t15\t3\n"
                   "tree\tis_green\tx\t9\t4\ntree\tmade_of_wood\tx\t6\t5\n");
  return path;
}

std::optional<double> maybe(const nlohmann::json& value) {
  return value.is_null() ? std::nullopt : std::optional<double>(value.get<double>());
}

// Recomputes every metric of `metrics` from the per-sample `records` (METHOD §8.11). `post`: an editor
// run (logp_post, Δp = exp(post) − exp(pre)); otherwise the prefix baseline (Δp = exp(pre) −
// exp(no context)). Returns how many features were dropped for a zero probability.
std::size_t expect_metrics_match_records(const nlohmann::json& records, const nlohmann::json& metrics,
                                         bool post) {
  std::map<std::string, std::vector<std::optional<double>>> per_sample;
  std::size_t dropped = 0;
  for (const auto& record : records) {
    for (const char* kind : {"co", "orig"}) {
      const std::string prob_key = std::string(kind) == "co" ? "co_prob" : "prob";
      std::vector<double> pre;
      std::vector<double> after;
      std::vector<double> ref;
      for (const auto& f : record[std::string(kind) + "_features"]) {
        const double p = std::stod(f[prob_key].get<std::string>());
        EXPECT_GT(p, 0.0);
        EXPECT_NEAR(f["logp_ref"].get<double>(), std::log(p), 1e-12);
        pre.push_back(f["logp_pre"].get<double>());
        if (post) after.push_back(f["logp_post"].get<double>());
        ref.push_back(f["logp_ref"].get<double>());
      }
      const std::optional<double> r_pre = eval::pearson(pre, ref);
      EXPECT_EQ(maybe(record[std::string(kind) + "_corr_pre"]).has_value(), r_pre.has_value())
          << record["id"];
      if (r_pre) {
        EXPECT_NEAR(record[std::string(kind) + "_corr_pre"].get<double>(), *r_pre, 1e-9);
      }
      per_sample[std::string(kind) + "_corr_pre"].push_back(r_pre);
      if (post) {
        const std::optional<double> r_post = eval::pearson(after, ref);
        EXPECT_EQ(maybe(record[std::string(kind) + "_corr_post"]).has_value(), r_post.has_value());
        if (r_post) {
          EXPECT_NEAR(record[std::string(kind) + "_corr_post"].get<double>(), *r_post, 1e-9);
        }
        per_sample[std::string(kind) + "_corr_post"].push_back(r_post);
      } else {
        EXPECT_TRUE(record[std::string(kind) + "_corr_post"].is_null());
      }
    }
    for (const char* kind : {"co", "orig", "unrel"}) {
      double sum = 0.0;
      std::size_t n = 0;
      for (const auto& f : record[std::string(kind) + "_features"]) {
        const double before = post ? f["logp_pre"].get<double>() : f["logp_no_context"].get<double>();
        const double changed = post ? f["logp_post"].get<double>() : f["logp_pre"].get<double>();
        EXPECT_NEAR(f["delta_prob"].get<double>(), std::exp(changed) - std::exp(before), 1e-12);
        sum += std::exp(changed) - std::exp(before);
        ++n;
      }
      const std::optional<double> delta =
          n == 0 ? std::nullopt : std::optional<double>(sum / static_cast<double>(n));
      EXPECT_EQ(maybe(record[std::string(kind) + "_delta_prob"]).has_value(), delta.has_value());
      if (delta) {
        EXPECT_NEAR(record[std::string(kind) + "_delta_prob"].get<double>(), *delta, 1e-12);
      }
      per_sample[std::string(kind) + "_delta_prob"].push_back(delta);
    }
    for (const auto& f : record["dropped_features"]) {
      const std::string prob = f["kind"] == "co" ? f["co_prob"] : f["prob"];
      EXPECT_EQ(std::stod(prob), 0.0);
      EXPECT_TRUE(f["logp_ref"].is_null());
      ++dropped;
    }
  }
  for (const auto& [name, values] : per_sample) {
    std::vector<double> defined;
    for (const auto& v : values)
      if (v) defined.push_back(*v);
    EXPECT_EQ(metrics["skipped_samples"][name], values.size() - defined.size()) << name;
    if (defined.empty()) {
      EXPECT_TRUE(metrics[name].is_null()) << name;
      continue;
    }
    const eval::Aggregate a = eval::aggregate(defined);
    EXPECT_NEAR(metrics[name]["mean"].get<double>(), a.mean, 1e-9) << name;
    EXPECT_NEAR(metrics[name]["std"].get<double>(), a.std, 1e-9) << name;
    EXPECT_LE(metrics[name]["ci95"][0].get<double>(), metrics[name]["ci95"][1].get<double>()) << name;
  }
  if (!post) {
    EXPECT_TRUE(metrics["co_corr_post"].is_null());
    EXPECT_TRUE(metrics["orig_corr_post"].is_null());
  }
  EXPECT_EQ(metrics["samples"], records.size());
  EXPECT_EQ(metrics["features"]["dropped_zero_prob"], dropped);
  return dropped;
}

bool has_args_file(const std::string& folder) {
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("args-") && name.ends_with(".json")) return true;
  }
  return false;
}

TEST(EvalEntailmentCli, TinyModelRecordsMatchMetricsAndSkipsExisting) {
  const std::string results = test::temp_dir("entailment_cli");
  const std::string table = write_tiny_table(results);
  const std::vector<std::string> common{"eval",
                                        "entailment",
                                        "-n",
                                        "ent",
                                        "--results-dir",
                                        results,
                                        "-m",
                                        test::fixture("lm/llama_gqa/model.gguf"),
                                        "-f",
                                        table,
                                        "--rows",
                                        "train",
                                        "-q"};
  std::vector<std::string> editor_run = common;
  for (const char* arg : {"-t", "identity", "-l", "1"}) editor_run.emplace_back(arg);
  const auto r = test::run_remedi(editor_run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("not McRae results"), std::string::npos) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  const std::string folder = results + "/ent/identity/1";
  const auto records = read_json(folder + "/entailment.json");
  const auto metrics = read_json(folder + "/entailment_metrics.json");
  ASSERT_EQ(records.size(), 26U);  // every sample of the table's conversion
  EXPECT_GT(expect_metrics_match_records(records, metrics, true), 0U);
  EXPECT_GT(metrics["skipped_samples"]["orig_corr_pre"].get<std::size_t>(), 0U);  // rock, dog
  EXPECT_GT(metrics["skipped_samples"]["co_corr_pre"].get<std::size_t>(), 0U);    // tree/a_pet/has_fur
  EXPECT_EQ(metrics["synthetic_data"], true);
  EXPECT_EQ(metrics["dataset_file"], table);
  EXPECT_EQ(metrics["target_span"], "suffix");
  EXPECT_EQ(summary["layers"]["1"], metrics);
  EXPECT_EQ(summary["synthetic_data"], true);
  EXPECT_TRUE(has_args_file(results + "/ent"));

  // A second run finds the results and leaves them alone.
  const std::string before = test::read_file(folder + "/entailment.json");
  const auto again = test::run_remedi(editor_run);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("entailment_metrics.json exists, skipping"), std::string::npos) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["layers"]["1"]["skipped_existing"], true);
  EXPECT_EQ(test::read_file(folder + "/entailment.json"), before);

  // Prefix baseline (the one-word form): co and original prompts after the context, unedited LM only.
  std::vector<std::string> prefix_run = common;
  prefix_run[0] = "eval-entailment";
  prefix_run.erase(prefix_run.begin() + 1);
  prefix_run.emplace_back("--baseline");
  prefix_run.emplace_back("prefix");
  const auto p = test::run_remedi(prefix_run);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto prefix_records = read_json(results + "/ent/prefix/entailment.json");
  const auto prefix_metrics = read_json(results + "/ent/prefix/entailment_metrics.json");
  expect_metrics_match_records(prefix_records, prefix_metrics, false);
  EXPECT_EQ(nlohmann::json::parse(p.out)["metrics"], prefix_metrics);
  for (std::size_t i = 0; i < prefix_records.size(); ++i) {
    const auto& plain = records[i];
    const auto& prefixed = prefix_records[i];
    const std::string context = plain["context"];
    ASSERT_EQ(prefixed["co_features"].size(), plain["co_features"].size());
    for (std::size_t k = 0; k < plain["co_features"].size(); ++k) {
      EXPECT_EQ(prefixed["co_features"][k]["prompt"].get<std::string>(),
                context + " " + plain["co_features"][k]["prompt"].get<std::string>());
      // The no-context score is the editor run's unedited one.
      EXPECT_NEAR(prefixed["co_features"][k]["logp_no_context"].get<double>(),
                  plain["co_features"][k]["logp_pre"].get<double>(), 1e-4);
    }
    for (const auto& f : prefixed["unrel_features"]) {
      EXPECT_EQ(f["delta_prob"], 0.0);  // unrelated prompts are unchanged
      EXPECT_TRUE(f["logp_post"].is_null());
    }
  }
  // METHOD Q8 faithful: the target's first occurrence instead of the suffix, recorded in the metrics.
  std::vector<std::string> faithful = prefix_run;
  faithful[2] = "faithful";
  faithful.emplace_back("--faithful-target-span");
  const auto f = test::run_remedi(faithful);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(read_json(results + "/faithful/prefix/entailment_metrics.json")["target_span"],
            "first_occurrence");
  std::filesystem::remove_all(results);
}

TEST(EvalEntailmentCli, DefaultModelOnSyntheticFixture) {
  if (test::default_model_path().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string results = test::temp_dir("entailment_smollm2");
  const std::string table = test::fixture("data/mcrae_synthetic.tsv");
  const std::vector<std::string> common{
      "eval", "entailment", "-n", "ent", "--results-dir", results, "-f", table, "--rows", "train[:4]", "-q"};
  std::vector<std::string> editor_run = common;
  for (const char* arg : {"-t", "identity", "-l", "2"}) editor_run.emplace_back(arg);
  const auto r = test::run_remedi(editor_run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = read_json(results + "/ent/identity/2/entailment.json");
  const auto metrics = read_json(results + "/ent/identity/2/entailment_metrics.json");
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[0]["id"], "cherry/made_of_metal/found_in_kitchens");
  expect_metrics_match_records(records, metrics, true);
  EXPECT_EQ(metrics["synthetic_data"], true);
  EXPECT_EQ(metrics["dataset_file"], table);
  EXPECT_EQ(metrics["skipped_samples"]["co_corr_post"], 0);  // every fixture sample has >= 2 features
  // The edit changes the scores.
  EXPECT_NE(records[0]["co_features"][0]["logp_pre"], records[0]["co_features"][0]["logp_post"]);

  std::vector<std::string> prefix_run = common;
  prefix_run.emplace_back("--baseline");
  prefix_run.emplace_back("prefix");
  const auto p = test::run_remedi(prefix_run);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto prefix_records = read_json(results + "/ent/prefix/entailment.json");
  expect_metrics_match_records(prefix_records, read_json(results + "/ent/prefix/entailment_metrics.json"),
                               false);
  EXPECT_EQ(prefix_records[0]["co_features"][0]["prompt"], "A cherry is made of metal. A cherry is made of");
  std::filesystem::remove_all(results);
}

TEST(EvalEntailmentCli, BadInputGivesOneLine) {
  const std::string results = test::temp_dir("entailment_bad");
  const std::string table = test::fixture("data/mcrae_synthetic.tsv");
  const std::vector<std::string> base{"eval",
                                      "entailment",
                                      "-n",
                                      "bad",
                                      "--results-dir",
                                      results,
                                      "-m",
                                      test::fixture("lm/llama_gqa/model.gguf"),
                                      "-q"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run_remedi(args);
  };
  expect_one_line_error(with({"-f", results + "/missing.tsv", "-t", "identity", "-l", "1"}),
                        results + "/missing.tsv: does not exist");
  // The default rows [5000, 10000) are past the end of a small table.
  expect_one_line_error(with({"-f", table, "-t", "identity", "-l", "1"}), "--rows");
  expect_one_line_error(with({"-f", table, "--rows", "train[:2]", "--baseline", "replace"}), "--baseline");
  expect_one_line_error(with({"-f", table, "--rows", "train[:2]", "--baseline", "prefix", "-l", "1"}),
                        "--baseline");
  expect_one_line_error(with({"-f", table, "--rows", "train[:2]", "-t", "identity", "-l", "9"}), "--layers");
  expect_one_line_error(with({"-f", table, "--rows", "train[:2]", "-l", "1"}), "--editors-dir");
  const std::string broken = results + "/broken.tsv";
  test::write_file(broken, "Concept\tFeature\tProd_Freq\ncat\thas_fur\tmany\n");
  expect_one_line_error(with({"-f", broken, "-t", "identity", "-l", "1"}), "Prod_Freq");
  // Without -f: the norms are not shipped, and the error says where they go.
  const char* old = std::getenv("REMEDI_DATA");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("REMEDI_DATA", results.c_str(), 1);
  const auto missing = with({"-t", "identity", "-l", "1"});
  if (old != nullptr) {
    ::setenv("REMEDI_DATA", saved.c_str(), 1);
  } else {
    ::unsetenv("REMEDI_DATA");
  }
  expect_one_line_error(missing,
                        results + "/mcrae/CONCS_FEATS_concstats_brm.txt: missing: put the McRae norms there");
  EXPECT_NE(missing.err.find("-f"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(results + "/bad"));
  std::filesystem::remove_all(results);
}

}  // namespace
}  // namespace remedi
