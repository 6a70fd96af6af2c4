// McRae entailment (METHOD §8.11): does an edit that states one feature of a concept ("A cherry is made
// of metal") also move the LM's belief in the features that co-occur with it in the McRae norms,
// while leaving the concept's own and unrelated features alone? Every feature of a sample becomes one
// sequence "<feature prompt> <feature target>" whose target log-probability is scored before and after
// the edit; per sample, Pearson's r against the norms' log-probabilities summarises the agreement.
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "tok/spans.h"

namespace remedi::lm {
class CausalLM;
}
namespace remedi::tok {
class Tokenizer;
}

namespace remedi {

class Editor;
struct EditorInputs;

// co: source.all_co_features (reference co_prob), orig: source.original_features (reference prob),
// unrel: source.unrelated_features (no reference).
enum class FeatureKind { Co, Orig, Unrel };
const char* feature_kind_name(FeatureKind kind);  // "co", "orig", "unrel"

// One feature of one sample, as scored.
struct FeatureRow {
  std::size_t sample = 0;  // index into the evaluated samples
  FeatureKind kind = FeatureKind::Co;
  std::string feature;  // feature_fluent, e.g. "is made of wood"
  std::string entity;   // the sample's entity (the edit goes to its first mention)
  std::string prompt;   // the feature's prompt ("A cherry is made of"), or in context for the prefix baseline
  std::string target;   // "wood"
  std::string prob;     // co_prob / prob as stored (a 2-decimal string, METHOD Q31); empty for unrel
};

// The rows of every sample in order: its co, then orig, then unrel features, each list in file
// order. `prefix`: co and orig prompts become data::prompt_in_context(entity, prompt, context) (the
// prefix baseline); unrel prompts are unchanged. Throws remedi::Error naming `file`, the sample and
// the field when a list or a string field is missing (not McRae data?) or a target is empty.
std::vector<FeatureRow> flatten_features(const std::vector<data::MediationSample>& samples, bool prefix,
                                         const std::string& file);

// "<prompt> <target>".
std::string feature_sequence(const FeatureRow& row);

// Code-point span of the target in its sequence. Default: the suffix (the target is always the last
// part; METHOD Q8 intended). `first_occurrence`: the first occurrence of the target string, as the
// original (METHOD Q8 faithful; in the prefix baseline the context may hold the target word first).
tok::CharSpan target_span(const std::string& sequence, const std::string& target, bool first_occurrence);

// Token range of the target span in `offsets` (METHOD §4.1 rule). Throws remedi::Error naming `where`
// when no token precedes the target (nothing to predict it from) or the span is not covered.
tok::TokenRange target_token_range(const std::vector<tok::Offset>& offsets, const std::string& sequence,
                                   const std::string& target, bool first_occurrence,
                                   const std::string& where);

// Which rows score_feature_targets runs: with an editor every row; without one (`edited` false) each
// distinct sequence once, as its unedited score does not depend on its sample. `run` lists the rows
// run, in order; row r takes the score of run[result_of[r]].
struct FeatureRuns {
  std::vector<std::size_t> run;
  std::vector<std::size_t> result_of;
};
FeatureRuns feature_runs(const std::vector<FeatureRow>& rows, bool edited);

struct TargetScoringOptions {
  std::int64_t batch_size = 16;
  bool target_first_occurrence = false;  // METHOD Q8 faithful
  bool progress = false;
  std::string label = "entailment";
};

// Per row, the sum over the target's tokens t of log p(token_t | tokens before t), right-padded
// batches (METHOD §4.5). `editor` null: the unedited LM (each distinct sequence is scored once).
// Otherwise `inputs` holds editor inputs at the editor's layer with one row per sample
// (FeatureRow::sample indexes it), and the direction is added at the entity's first mention in the
// sequence (its last token unless the editor edits every entity token). Throws remedi::Error naming
// the row when the entity or target cannot be located.
std::vector<double> score_feature_targets(const lm::CausalLM& model, const tok::Tokenizer& tokenizer,
                                          Editor* editor, const EditorInputs* inputs,
                                          const std::vector<data::MediationSample>& samples,
                                          const std::vector<FeatureRow>& rows,
                                          const TargetScoringOptions& options);

// ln(value) of a stored probability string, or nothing when it is 0 (the feature is dropped after
// scoring, METHOD §8.11 and Q31). Throws remedi::Error naming `where` when it is not a number in [0, 1].
std::optional<double> reference_logp(const std::string& prob, const std::string& where);

struct ScoredFeature {
  FeatureRow row;
  std::optional<double> logp_ref;         // ln(co_prob) / ln(prob); none for unrel and dropped features
  double logp_pre = 0.0;                  // unedited LM (prefix baseline: on the prompt in context)
  std::optional<double> logp_post;        // edited LM (editor runs only)
  std::optional<double> logp_no_context;  // prefix baseline: the unedited LM on the plain prompt
  // The notebook's Δp, in probability units: exp(post) − exp(pre) for an editor run,
  // exp(pre) − exp(no_context) for the prefix baseline; none when neither pair exists.
  std::optional<double> delta_prob;
};

// One sample's features (co/orig without those whose probability string is 0) and statistics.
struct SampleEntailment {
  std::size_t sample = 0;
  std::vector<ScoredFeature> co;
  std::vector<ScoredFeature> orig;
  std::vector<ScoredFeature> unrel;
  std::vector<ScoredFeature> dropped;  // co / orig features with probability 0 (scored, not used)
  // Pearson r of logp_pre / logp_post with logp_ref; none when undefined (fewer than two features,
  // a constant vector, METHOD Q23) or, for post, without an editor.
  std::optional<double> co_corr_pre, co_corr_post, orig_corr_pre, orig_corr_post;
  // Mean over the kind's features of delta_prob; none when the kind has no feature with one.
  std::optional<double> co_delta_prob, orig_delta_prob, unrel_delta_prob;
};

// Regroups the rows' scores by sample (`samples` groups; every sample gets a record) and computes the
// statistics above. `post` and `no_context`, when given, have one value per row like `pre`. Throws
// remedi::Error for a bad probability string (see reference_logp) or std::invalid_argument for
// mismatched lengths.
std::vector<SampleEntailment> group_features(std::size_t samples, const std::vector<FeatureRow>& rows,
                                             const std::vector<double>& pre, const std::vector<double>* post,
                                             const std::vector<double>* no_context);

// Aggregates over samples (METHOD §8.11): mean and population std of each per-sample value that is
// defined; undefined ones are skipped and counted (METHOD Q23). The *_post correlations are absent without
// an editor run, the Δp ones without a post or no-context pass.
struct EntailmentMetrics {
  std::optional<eval::CorrelationSummary> co_corr_pre, co_corr_post, orig_corr_pre, orig_corr_post;
  std::optional<eval::CorrelationSummary> co_delta_prob, orig_delta_prob, unrel_delta_prob;
};
EntailmentMetrics entailment_metrics(const std::vector<SampleEntailment>& samples, bool post, bool delta);

}  // namespace remedi
