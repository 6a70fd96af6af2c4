// The results folder's layout (METHOD §2.4, docs/FORMATS.md): which file holds what, named in one
// place for the evaluations that write them and the report that reads them.
//
//   <results>/<experiment>/args-<YYYYmmdd-HHMMSS>.json        the arguments of each run
//   <results>/<experiment>/<type>/<layer>/                    one editor (eval fact-gen, fact-cls, ...)
//       <benchmark>.json, <benchmark>_metrics.json            per-sample records, then the metrics
//       fact_cls_layer_<l><variant>.json, ..._metrics.json    fact-cls at entity layer l
//   <results>/<experiment>/<type>/layer_selection.json        the layer rule's choice (METHOD §8.15)
//   <results>/<experiment>/<baseline>/                        the prefix and replace baselines
//   <results>/<experiment>/<stem>-<key hash>.json             a cache keyed by what it was computed from
// Bias in Bios adds a <setting> folder (contextual, decontextual) above <type>.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace remedi::eval {

// <folder>/<stem>.json: the per-sample records of a benchmark.
std::string records_file(const std::string& folder, const std::string& stem);
// <folder>/<stem>_metrics.json: its metrics, written after the records (so it marks a finished run).
std::string metrics_file(const std::string& folder, const std::string& stem);
// <folder>/layer_selection.json.
std::string layer_selection_file(const std::string& folder);
// <folder>/<stem>-<16 hex digits of the FNV-1a hash of key>.json: a cache file (e.g. fact-gen's
// generation_references) whose name says what it was computed from, so that runs with other rows or
// settings in one experiment do not overwrite each other's.
std::string keyed_cache_file(const std::string& folder, const std::string& stem, const std::string& key);

// The fact-cls variants and the suffixes of their file names.
constexpr std::array<const char*, 4> kFactClsVariantSuffixes{"", "_control_task", "_control_model",
                                                             "_control_task_control_model"};
// "_control_task" and/or "_control_model" (METHOD §8.14).
std::string control_suffix(bool control_task, bool control_model);
// fact_cls_layer_<entity_layer><suffix>: the stem of a fact-cls result.
std::string fact_cls_stem(std::int64_t entity_layer, const std::string& suffix);
// fact_cls_layer_<l><suffix>_metrics.json -> (entity layer l, index into kFactClsVariantSuffixes);
// any other file name -> nothing.
std::optional<std::pair<std::int64_t, std::size_t>> parse_fact_cls_metrics_name(std::string_view name);

}  // namespace remedi::eval
