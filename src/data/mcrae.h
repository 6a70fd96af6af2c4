// McRae feature norms (METHOD §3.4): concept/feature production norms -> mediation samples that put
// one feature in the context and ask for a co-occurring one in the prompt. Input: the original
// CONCS_FEATS_concstats_brm.txt (tab-separated; columns Concept, Feature, Prod_Freq are used).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/articles.h"
#include "data/delimited.h"
#include "data/sample.h"

namespace remedi::data {

struct McRaeOptions {
  double min_co_prob = 0.1;            // pairs (f, o) with co(f -> o) below this are not used
  std::size_t concepts_per_pair = 1;   // concepts drawn for each feature pair
  std::size_t unrelated_features = 5;  // unrelated features drawn into each sample's source
  std::uint64_t seed = 123456;         // Python random seed of the original converter
};

// "beh_-_flies" -> "flies", "a_musical_instrument" -> "a musical instrument".
std::string normalize_mcrae_feature(std::string_view raw_feature);
// "is", "has" or nothing: what makes "<concept> <feature>" read as a sentence.
std::optional<std::string> mcrae_fluency_prefix(std::string_view feature);
// The feature with its fluency prefix, if any: "used for cutting" -> "is used for cutting".
std::string mcrae_fluent_feature(std::string_view feature);

struct McRaeFeatureSplit {
  std::string prompt;  // goes after "<Article> <concept>", e.g. "is used for"; may be empty
  std::string target;  // what the LM should continue with, e.g. "cutting"
};
McRaeFeatureSplit split_mcrae_feature(std::string_view feature);

// "bat (animal)" -> "bat".
std::string strip_mcrae_parenthetical(std::string_view concept_name);

std::vector<MediationSample> convert_mcrae(const DelimitedTable& table, const Articles& articles,
                                           const McRaeOptions& options = {});
std::vector<MediationSample> load_mcrae(const std::string& path, const Articles& articles,
                                        const McRaeOptions& options = {});

}  // namespace remedi::data
