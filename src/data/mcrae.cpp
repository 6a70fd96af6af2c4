#include "data/mcrae.h"

#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "data/python_random.h"
#include "data/text.h"
#include "util/error.h"

namespace remedi::data {

namespace {

constexpr std::string_view kExcludedFeaturePrefixes[] = {"bought/sold", "eg -", "killed", "king of"};

constexpr std::string_view kIsPrefixes[] = {"a ",    "an ",   "associated ", "hunted ", "eaten ", "found ",
                                            "like ", "made ", "part ",       "owned ",  "used ",  "worn "};

// Scanned in order; the first that starts the feature (followed by a space) splits it.
constexpr std::string_view kSplitPrefixes[] = {"associated with",
                                               "an",
                                               "a",
                                               "becomes a",
                                               "causes",
                                               "comes from",
                                               "comes in",
                                               "comes on",
                                               "different",
                                               "found at",
                                               "found below",
                                               "found by",
                                               "found in",
                                               "found on",
                                               "found over",
                                               "found near",
                                               "has an",
                                               "has a",
                                               "has",
                                               "is an",
                                               "is attached to",
                                               "is a",
                                               "is",
                                               "like a",
                                               "made by",
                                               "made of",
                                               "made with",
                                               "made from",
                                               "owned by",
                                               "part of a",
                                               "part of",
                                               "requires a",
                                               "requires",
                                               "used as",
                                               "used at",
                                               "used by",
                                               "used for",
                                               "used in",
                                               "used on",
                                               "used with",
                                               "uses"};

std::string two_decimals(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

// Features and concepts in order of first appearance, as the original's insertion-ordered dicts.
struct Norms {
  std::vector<std::string> concepts;                       // "_" -> " " applied
  std::vector<std::string> features;                       // normalized
  std::vector<std::vector<std::size_t>> concept_features;  // per concept, first-appearance order
  std::vector<std::unordered_set<std::size_t>> concept_feature_set;
  std::map<std::pair<std::size_t, std::size_t>, double> probability;  // (concept, feature) -> p(f|c)
  struct Row {
    std::size_t concept_index;
    std::size_t feature;
    double probability;
  };
  std::vector<Row> rows;
};

Norms index_norms(const DelimitedTable& table) {
  const std::size_t concept_column = table.column("Concept");
  const std::size_t feature_column = table.column("Feature");
  const std::size_t frequency_column = table.column("Prod_Freq");
  Norms norms;
  std::unordered_map<std::string, std::size_t> concept_ids;
  std::unordered_map<std::string, std::size_t> feature_ids;
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    const std::vector<std::string>& cells = table.rows[row];
    const std::string feature = normalize_mcrae_feature(cells[feature_column]);
    const bool excluded =
        std::any_of(std::begin(kExcludedFeaturePrefixes), std::end(kExcludedFeaturePrefixes),
                    [&](std::string_view prefix) { return feature.starts_with(prefix); });
    if (excluded) continue;
    const std::string concept_name = replace_all(cells[concept_column], "_", " ");
    const std::string frequency = strip_whitespace(cells[frequency_column]);
    if (frequency.empty() || frequency.size() > 9 ||
        frequency.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(table.file, table.where(row) + ": Prod_Freq",
                  "expected a whole number, got \"" + frequency + "\"");
    }
    const double probability = std::stoi(frequency) / 30.0;

    const auto [concept_it, new_concept] = concept_ids.emplace(concept_name, norms.concepts.size());
    if (new_concept) {
      norms.concepts.push_back(concept_name);
      norms.concept_features.emplace_back();
      norms.concept_feature_set.emplace_back();
    }
    const auto [feature_it, new_feature] = feature_ids.emplace(feature, norms.features.size());
    if (new_feature) norms.features.push_back(feature);
    const std::size_t c = concept_it->second;
    const std::size_t f = feature_it->second;
    if (norms.concept_feature_set[c].insert(f).second) norms.concept_features[c].push_back(f);
    norms.probability[{c, f}] = probability;
    norms.rows.push_back({c, f, probability});
  }
  return norms;
}

// co(f -> o) for every feature f: the features o != f with a positive sum, in first-appearance
// order of o, with their probabilities.
std::vector<std::vector<std::pair<std::size_t, double>>> co_occurrence(const Norms& norms) {
  const std::size_t n = norms.features.size();
  std::vector<std::unordered_map<std::size_t, double>> sums(n);
  std::vector<std::size_t> counts(n, 0);
  for (const Norms::Row& row : norms.rows) {
    for (const std::size_t other : norms.concept_features[row.concept_index]) {
      if (other == row.feature) continue;
      sums[row.feature][other] += row.probability * norms.probability.at({row.concept_index, other});
    }
    ++counts[row.feature];
  }
  std::vector<std::vector<std::pair<std::size_t, double>>> co(n);
  for (std::size_t f = 0; f < n; ++f) {
    for (std::size_t o = 0; o < n; ++o) {
      const auto found = sums[f].find(o);
      if (o == f || found == sums[f].end() || !(found->second > 0)) continue;
      co[f].emplace_back(o, found->second / static_cast<double>(counts[f]));
    }
  }
  return co;
}

std::string prompt_with_entity(const Articles& articles, const std::string& entity,
                               const std::string& prompt_part) {
  return strip_whitespace(capitalize_ascii(articles.article(entity)) + " " + entity + " " + prompt_part);
}

Json feature_record(const Articles& articles, const std::string& entity, const std::string& feature) {
  const McRaeFeatureSplit split = split_mcrae_feature(feature);
  Json record;
  record["feature"] = feature;
  record["feature_fluent"] = mcrae_fluent_feature(feature);
  record["prompt"] = prompt_with_entity(articles, entity, split.prompt);
  record["target"] = split.target;
  return record;
}

}  // namespace

std::string normalize_mcrae_feature(std::string_view raw_feature) {
  std::string feature = replace_all(raw_feature, "inbeh_-_", "");
  feature = replace_all(feature, "beh_-_", "");
  return replace_all(feature, "_", " ");
}

std::optional<std::string> mcrae_fluency_prefix(std::string_view feature) {
  for (const std::string_view prefix : kIsPrefixes) {
    if (feature.starts_with(prefix)) return "is";
  }
  if (feature.starts_with("different ")) return "has";
  return std::nullopt;
}

std::string mcrae_fluent_feature(std::string_view feature) {
  const std::optional<std::string> prefix = mcrae_fluency_prefix(feature);
  return prefix ? *prefix + " " + std::string(feature) : std::string(feature);
}

McRaeFeatureSplit split_mcrae_feature(std::string_view feature) {
  for (const std::string_view prefix : kSplitPrefixes) {
    const std::string with_space = std::string(prefix) + " ";
    if (feature.starts_with(with_space)) {
      return {strip_whitespace(mcrae_fluent_feature(with_space)),
              strip_whitespace(feature.substr(with_space.size()))};
    }
  }
  return {mcrae_fluency_prefix(feature).value_or(""), std::string(feature)};
}

std::string strip_mcrae_parenthetical(std::string_view concept_name) {
  return strip_whitespace(concept_name.substr(0, concept_name.find('(')));
}

std::vector<MediationSample> convert_mcrae(const DelimitedTable& table, const Articles& articles,
                                           const McRaeOptions& options) {
  const Norms norms = index_norms(table);
  const auto co = co_occurrence(norms);

  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t f = 0; f < co.size(); ++f) {
    for (const auto& [o, probability] : co[f]) {
      if (probability >= options.min_co_prob) pairs.emplace_back(f, o);
    }
  }
  PythonRandom random(options.seed);
  random.shuffle(pairs);

  std::vector<MediationSample> samples;
  for (const auto& [context_feature, prompt_feature] : pairs) {
    std::vector<std::size_t> candidates;
    for (std::size_t c = 0; c < norms.concepts.size(); ++c) {
      const auto& has = norms.concept_feature_set[c];
      if (!has.contains(context_feature) && !has.contains(prompt_feature)) candidates.push_back(c);
    }
    const std::string& context_name = norms.features[context_feature];
    const std::string& prompt_name = norms.features[prompt_feature];
    if (candidates.size() < options.concepts_per_pair) {
      std::string field = "features \"";
      field.append(context_name).append("\" / \"").append(prompt_name).append("\"");
      throw Error(table.file, field, "too few concepts have neither feature to draw from");
    }
    std::unordered_set<std::size_t> co_features;
    for (const auto& entry : co[context_feature]) co_features.insert(entry.first);

    for (const std::size_t pick : random.sample_indices(candidates.size(), options.concepts_per_pair)) {
      const std::size_t c = candidates[pick];
      const std::string& concept_name = norms.concepts[c];
      const std::string entity = strip_mcrae_parenthetical(concept_name);

      std::vector<std::size_t> unrelated;
      for (std::size_t f = 0; f < norms.features.size(); ++f) {
        if (!co_features.contains(f) && !norms.concept_feature_set[c].contains(f)) unrelated.push_back(f);
      }
      if (unrelated.size() < options.unrelated_features) {
        throw Error(table.file, "concept \"" + concept_name + "\"",
                    "too few unrelated features to draw from");
      }
      const std::vector<std::size_t> unrelated_picks =
          random.sample_indices(unrelated.size(), options.unrelated_features);

      MediationSample sample;
      std::string id = concept_name;
      id.append("/").append(context_name).append("/").append(prompt_name);
      sample.id = replace_all(id, " ", "_");
      sample.entity = entity;
      const std::string article = capitalize_ascii(articles.article(entity));
      sample.attribute = mcrae_fluent_feature(context_name);
      sample.context = article;
      sample.context.append(" ").append(entity).append(" ").append(sample.attribute).append(".");
      sample.prompt = prompt_with_entity(articles, entity, split_mcrae_feature(prompt_name).prompt);
      sample.target_mediated = split_mcrae_feature(prompt_name).target;

      Json source;
      source["concept"] = concept_name;
      source["context_feature"] = context_name;
      source["context_feature_fluent"] = mcrae_fluent_feature(context_name);
      source["prompt_feature"] = prompt_name;
      source["prompt_feature_fluent"] = mcrae_fluent_feature(prompt_name);
      for (const auto& [o, probability] : co[context_feature]) {
        if (o == prompt_feature) source["co_prob"] = probability;
      }
      source["all_co_features"] = Json::array();
      for (const auto& [o, probability] : co[context_feature]) {
        Json record = feature_record(articles, entity, norms.features[o]);
        record["co_prob"] = two_decimals(probability);
        source["all_co_features"].push_back(std::move(record));
      }
      source["original_features"] = Json::array();
      for (const std::size_t g : norms.concept_features[c]) {
        Json record = feature_record(articles, entity, norms.features[g]);
        record["prob"] = two_decimals(norms.probability.at({c, g}));
        source["original_features"].push_back(std::move(record));
      }
      source["unrelated_features"] = Json::array();
      for (const std::size_t pick_index : unrelated_picks) {
        source["unrelated_features"].push_back(
            feature_record(articles, entity, norms.features[unrelated[pick_index]]));
      }
      sample.source = std::move(source);
      samples.push_back(std::move(sample));
    }
  }
  return samples;
}

std::vector<MediationSample> load_mcrae(const std::string& path, const Articles& articles,
                                        const McRaeOptions& options) {
  return convert_mcrae(read_delimited(path, '\t'), articles, options);
}

}  // namespace remedi::data
