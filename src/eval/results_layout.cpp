#include "eval/results_layout.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "util/hash.h"

namespace remedi::eval {

std::string records_file(const std::string& folder, const std::string& stem) {
  return (std::filesystem::path(folder) / (stem + ".json")).string();
}

std::string metrics_file(const std::string& folder, const std::string& stem) {
  return (std::filesystem::path(folder) / (stem + "_metrics.json")).string();
}

std::string layer_selection_file(const std::string& folder) {
  return (std::filesystem::path(folder) / "layer_selection.json").string();
}

std::string keyed_cache_file(const std::string& folder, const std::string& stem, const std::string& key) {
  return (std::filesystem::path(folder) / (stem + "-" + hex64(fnv1a_field(kFnvOffset, key)) + ".json"))
      .string();
}

std::string control_suffix(bool control_task, bool control_model) {
  return std::string(control_task ? "_control_task" : "") + (control_model ? "_control_model" : "");
}

std::string fact_cls_stem(std::int64_t entity_layer, const std::string& suffix) {
  return "fact_cls_layer_" + std::to_string(entity_layer) + suffix;
}

std::optional<std::pair<std::int64_t, std::size_t>> parse_fact_cls_metrics_name(std::string_view name) {
  constexpr std::string_view kPrefix = "fact_cls_layer_";
  constexpr std::string_view kSuffix = "_metrics.json";
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix) ||
      name.size() <= kPrefix.size() + kSuffix.size())
    return std::nullopt;
  const std::string_view middle = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  const std::size_t digits = std::min(middle.find_first_not_of("0123456789"), middle.size());
  std::int64_t layer = 0;
  if (digits == 0) return std::nullopt;
  const auto [end, ec] = std::from_chars(middle.data(), middle.data() + digits, layer);
  if (ec != std::errc() || end != middle.data() + digits) return std::nullopt;
  const std::string_view rest = middle.substr(digits);
  for (std::size_t v = 0; v < kFactClsVariantSuffixes.size(); ++v) {
    if (rest == kFactClsVariantSuffixes[v]) return std::make_pair(layer, v);
  }
  return std::nullopt;
}

}  // namespace remedi::eval
