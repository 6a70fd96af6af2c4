#include "report/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/layer_selection.h"
#include "eval/results_layout.h"
#include "report/svg.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::report {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Reading: every value the page shows comes through Node, so a missing or mistyped field is one
// remedi::Error naming the file and the dotted path of the field.

struct Node {
  const json& value;
  const std::string& file;
  std::string path;  // dotted path from the document's root; "" at the root

  std::string name() const { return path.empty() ? "(top level)" : path; }
  bool has(const std::string& key) const { return value.is_object() && value.contains(key); }
  Node at(const std::string& key) const {
    if (!value.is_object()) throw Error(file, name(), "expected an object");
    const auto found = value.find(key);
    const std::string where = path.empty() ? key : path + "." + key;
    if (found == value.end()) throw Error(file, where, "missing");
    return {*found, file, where};
  }
  Node at(std::size_t index) const {
    return {value.at(index), file, path + "[" + std::to_string(index) + "]"};
  }
  // nlohmann::json writes a NaN (a metric of no sample) as null: read back as NaN, shown "n/a".
  double number() const {
    if (value.is_null()) return kNaN;
    if (!value.is_number()) throw Error(file, name(), "expected a number");
    return value.get<double>();
  }
  std::int64_t integer() const {
    if (!value.is_number_integer()) throw Error(file, name(), "expected an integer");
    return value.get<std::int64_t>();
  }
  std::string text() const {
    if (!value.is_string()) throw Error(file, name(), "expected a string");
    return value.get<std::string>();
  }
  const json& array() const {
    if (!value.is_array()) throw Error(file, name(), "expected an array");
    return value;
  }
};

// A mean (or value) with its 95% interval.
struct Stat {
  double mean = kNaN;
  double lower = kNaN;
  double upper = kNaN;
};

Stat read_bounds(const Node& n, double centre) {
  const Node ci = n.at("ci95");
  if (!ci.value.is_array() || ci.value.size() != 2) throw Error(ci.file, ci.path, "expected [lower, upper]");
  return {centre, ci.at(0).number(), ci.at(1).number()};
}
// {mean, std, ci95: [lower, upper]} (eval fact-gen's aggregates).
Stat read_stat(const Node& n) { return read_bounds(n, n.at("mean").number()); }
// {value, ci95: [lower, upper]} (eval fact-cls's intervals).
Stat read_interval(const Node& n) { return read_bounds(n, n.at("value").number()); }

// ---------------------------------------------------------------------------------------------
// What one experiment folder holds.

enum Column : std::size_t {
  kEfficacy,
  kParaphrase,
  kNeighborhood,
  kFluency,
  kConsistency,
  kEssence,
  kColumns
};
constexpr std::array<const char*, kColumns> kColumnNames{"efficacy", "paraphrase",  "neighborhood",
                                                         "fluency",  "consistency", "essence"};
using Row = std::array<std::optional<Stat>, kColumns>;

bool row_empty(const Row& row) {
  return std::none_of(row.begin(), row.end(), [](const auto& cell) { return cell.has_value(); });
}

struct EditingResults {
  Row edited;
  Row unedited;
  std::optional<Stat> essence_fluency;            // of the edited generations the essence compares
  std::optional<Stat> essence_reference_fluency;  // of the references
};

struct ClsTask {
  Stat accuracy;
  Stat f1;
  Stat mcc;
};
struct ClsResult {
  ClsTask contextual;
  ClsTask decontextual;
};

// The fact-cls variants, in the order of eval::kFactClsVariantSuffixes.
constexpr std::array<const char*, eval::kFactClsVariantSuffixes.size()> kVariantNames{
    "trained", "control task", "control model", "control task + model"};

struct LayerResults {
  fs::path folder;
  EditingResults editing;
  std::array<std::map<std::int64_t, ClsResult>, eval::kFactClsVariantSuffixes.size()>
      cls;  // variant → entity layer
  bool has_generation_records = false;
  bool has_essence_records = false;

  bool has_cls() const {
    return std::any_of(cls.begin(), cls.end(), [](const auto& by_layer) { return !by_layer.empty(); });
  }
  bool empty() const { return row_empty(editing.edited) && !has_cls(); }
};

struct TypeResults {
  std::map<std::int64_t, LayerResults> layers;
  std::optional<std::int64_t> selected_layer;  // layer_selection.json
  std::string selection_rule;
  std::map<std::int64_t, double> selection_scores;
};

struct Run {
  std::string file;  // args-<timestamp>.json
  json args;
};

struct Experiment {
  std::string name;
  fs::path folder;
  std::vector<Run> runs;
  std::map<std::string, TypeResults> types;
  std::map<std::string, Row> baselines;  // prefix, replace

  bool empty() const { return types.empty() && baselines.empty(); }
};

const std::array<std::string, 2> kBaselines{"prefix", "replace"};

// A folder name that is a layer number ("6"); anything else is not a layer.
std::optional<std::int64_t> parse_layer(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// The editing metrics of an editor folder <type>/<layer>/ or a baseline folder; absent files are
// skipped. Editors also carry the unedited LM's numbers on the same prompts.
EditingResults load_editing(const fs::path& folder) {
  EditingResults r;
  const auto open = [&](const std::string& benchmark) -> std::optional<json> {
    const fs::path path = eval::metrics_file(folder.string(), benchmark);
    if (!fs::is_regular_file(path)) return std::nullopt;
    return read_json_file(path.string());
  };
  for (const Column column : {kEfficacy, kParaphrase, kNeighborhood}) {
    const std::string benchmark = kColumnNames[column];
    const std::optional<json> doc = open(benchmark);
    if (!doc) continue;
    const std::string file = eval::metrics_file(folder.string(), benchmark);
    const Node root{*doc, file, ""};
    r.edited[column] = read_stat(root.at("score"));
    if (root.has("unedited")) r.unedited[column] = read_stat(root.at("unedited").at("score"));
  }
  if (const std::optional<json> doc = open("generation")) {
    const std::string file = eval::metrics_file(folder.string(), "generation");
    const Node root{*doc, file, ""};
    r.edited[kFluency] = read_stat(root.at("fluency"));
    r.edited[kConsistency] = read_stat(root.at("consistency"));
    if (root.has("unedited")) {
      r.unedited[kFluency] = read_stat(root.at("unedited").at("fluency"));
      r.unedited[kConsistency] = read_stat(root.at("unedited").at("consistency"));
    }
  }
  if (const std::optional<json> doc = open("essence")) {
    const std::string file = eval::metrics_file(folder.string(), "essence");
    const Node root{*doc, file, ""};
    r.edited[kEssence] = read_stat(root.at("essence"));
    // The first essence files spelt the key "fluency_generaton"; both are read.
    if (root.has("fluency_generation")) {
      r.essence_fluency = read_stat(root.at("fluency_generation"));
    } else if (root.has("fluency_generaton")) {
      r.essence_fluency = read_stat(root.at("fluency_generaton"));
    }
    if (root.has("fluency_references"))
      r.essence_reference_fluency = read_stat(root.at("fluency_references"));
  }
  return r;
}

ClsTask read_cls_task(const Node& task) {
  const Node intervals = task.at("intervals");
  return {read_interval(intervals.at("accuracy")), read_interval(intervals.at("f1")),
          read_interval(intervals.at("mcc"))};
}

LayerResults load_layer(const fs::path& folder) {
  LayerResults r;
  r.folder = folder;
  r.editing = load_editing(folder);
  r.has_generation_records = fs::is_regular_file(eval::records_file(folder.string(), "generation"));
  r.has_essence_records = fs::is_regular_file(eval::records_file(folder.string(), "essence"));
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const auto parsed = eval::parse_fact_cls_metrics_name(entry.path().filename().string());
    if (!parsed) continue;
    const json doc = read_json_file(entry.path().string());
    const std::string file = entry.path().string();
    const Node root{doc, file, ""};
    r.cls[parsed->second][parsed->first] = {read_cls_task(root.at("contextual")),
                                            read_cls_task(root.at("decontextual"))};
  }
  return r;
}

TypeResults load_type(const fs::path& folder) {
  TypeResults t;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (!entry.is_directory()) continue;
    const std::optional<std::int64_t> layer = parse_layer(entry.path().filename().string());
    if (!layer) continue;
    LayerResults results = load_layer(entry.path());
    if (!results.empty()) t.layers.emplace(*layer, std::move(results));
  }
  const fs::path selection = eval::layer_selection_file(folder.string());
  if (!t.layers.empty() && fs::is_regular_file(selection)) {
    const json doc = read_json_file(selection.string());
    const std::string file = selection.string();
    const Node root{doc, file, ""};
    t.selected_layer = root.at("best_layer").integer();
    if (!t.layers.contains(*t.selected_layer)) {
      throw Error(file, "best_layer",
                  std::to_string(*t.selected_layer) + " is not a layer with results in " + folder.string());
    }
    if (root.has("rule")) t.selection_rule = root.at("rule").text();
    if (root.has("scores")) {
      const Node scores = root.at("scores");
      if (!scores.value.is_object()) throw Error(file, "scores", "expected an object");
      for (const auto& [key, value] : scores.value.items()) {
        if (const std::optional<std::int64_t> layer = parse_layer(key))
          t.selection_scores[*layer] = scores.at(key).number();
      }
    }
  }
  return t;
}

Experiment load_experiment(const fs::path& folder, std::string name) {
  Experiment e;
  e.name = std::move(name);
  e.folder = folder;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (!entry.is_directory()) continue;
    const std::string child = entry.path().filename().string();
    if (std::find(kBaselines.begin(), kBaselines.end(), child) != kBaselines.end()) {
      const EditingResults baseline = load_editing(entry.path());
      if (!row_empty(baseline.edited)) e.baselines[child] = baseline.edited;
      continue;
    }
    TypeResults type = load_type(entry.path());
    if (!type.layers.empty()) e.types.emplace(child, std::move(type));
  }
  if (e.empty()) return e;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && file.starts_with("args-") && file.ends_with(".json"))
      e.runs.push_back({file, read_json_file(entry.path().string())});
  }
  std::sort(e.runs.begin(), e.runs.end(), [](const Run& a, const Run& b) { return a.file < b.file; });
  return e;
}

// ---------------------------------------------------------------------------------------------
// Writing.

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "n/a";
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  std::string text = buffer.data();
  if (text.find_first_not_of("-0.") == std::string::npos && text.front() == '-') text.erase(0, 1);
  return text;
}

// "mean [lower, upper]", three decimals.
std::string cell_text(const Stat& s) {
  return fixed(s.mean, 3) + " [" + fixed(s.lower, 3) + ", " + fixed(s.upper, 3) + "]";
}

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::array<char, 64> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buffer.data();
}

constexpr std::string_view kStyle = R"css(
:root{color-scheme:light}
body{margin:0;background:#f3f5f7;color:#1d2329;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:26px;margin:6px 0 10px}
h2{font-size:21px;margin:6px 0 12px;padding-bottom:6px;border-bottom:1px solid #e1e6ea}
h3{font-size:16px;margin:22px 0 8px;color:#24313c}
header{background:#fff;border:1px solid #dde3e8;border-radius:8px;padding:12px 24px 14px}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:3px 16px;margin:0 0 8px}
dl.meta dt{color:#5b6670}
dl.meta dd{margin:0}
nav ol{margin:4px 0 0;padding-left:22px}
section.experiment{background:#fff;border:1px solid #dde3e8;border-radius:8px;padding:12px 24px 20px;margin:22px 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
caption{caption-side:bottom;text-align:left;color:#5b6670;font-size:12.5px;padding-top:6px;max-width:1100px}
th,td{padding:5px 10px;border-bottom:1px solid #e7eaed;text-align:left;white-space:nowrap}
thead th{background:#eef2f5;border-bottom:2px solid #ccd4db;font-weight:600}
thead th.group{text-align:center;border-bottom:1px solid #ccd4db}
td.num{text-align:right}
table.editing{min-width:640px}
p.note{color:#5b6670;font-size:12.5px;margin:4px 0 8px;max-width:1100px}
tr.reference td{background:#fafbfc;color:#44505b}
table.classification td{border-bottom-color:#f1f3f5}
table.classification tr.pair-end td,table.classification td[rowspan]{border-bottom:1px solid #dfe4e8}
tr.selected td{background:#fff6db}
.badge{display:inline-block;margin-left:6px;padding:0 7px;border-radius:9px;background:#f2b53a;color:#3a2a00;font-size:11px;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:14px;margin:6px 0}
.charts svg{border:1px solid #e1e6ea;border-radius:6px;background:#fff}
table.examples{table-layout:fixed;width:100%}
table.examples td{white-space:pre-wrap;vertical-align:top;font-size:13px;word-wrap:break-word}
table.examples col.prompt{width:26%}
.lead{font-weight:600;color:#1c4f80}
.muted{color:#66717b}
code{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
details summary{cursor:pointer;color:#33414d}
footer{color:#66717b;font-size:12px;text-align:center;margin-top:24px}
)css";

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : separator) + parts[i];
  return out;
}

// An argument's value in a few characters: strings as they are, lists joined.
std::string arg_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const json& item : value) parts.push_back(arg_text(item));
    return join(parts, " ");
  }
  return value.dump();
}

std::string render_runs(const Experiment& e) {
  if (e.runs.empty()) return "";
  std::string out = "<details class=\"runs\"><summary>" + std::to_string(e.runs.size()) + " run" +
                    (e.runs.size() == 1 ? "" : "s") +
                    " (args files)</summary>\n<div class=\"scroll\"><table class=\"runs\"><thead><tr>"
                    "<th>file</th><th>model</th><th>editor</th><th>layers</th><th>rows</th><th>settings</th>"
                    "</tr></thead><tbody>\n";
  for (const Run& run : e.runs) {
    const auto get = [&](const char* key) -> std::string {
      return run.args.is_object() && run.args.contains(key) ? arg_text(run.args[key]) : "";
    };
    std::string editor = get("editor_type");
    if (!get("baseline").empty()) editor = get("baseline") + " (baseline)";
    std::vector<std::string> settings;
    if (run.args.is_object()) {
      for (const char* key : {"benchmarks", "entity_layers", "similarity", "max_length"}) {
        if (!get(key).empty()) settings.push_back(std::string(key) + ": " + get(key));
      }
      for (const char* key : {"control_task", "control_model"}) {
        if (run.args.contains(key) && run.args[key] == true) settings.emplace_back(key);
      }
    }
    out += "<tr><td><code>" + escape_html(run.file) + "</code></td><td>" + escape_html(get("model")) +
           "</td><td>" + escape_html(editor) + "</td><td>" + escape_html(get("layers")) + "</td><td>" +
           escape_html(get("rows")) + "</td><td>" + escape_html(join(settings, "; ")) + "</td></tr>\n";
  }
  out += "</tbody></table></div></details>\n";
  return out;
}

std::string render_editing_table(const Experiment& e) {
  struct TableRow {
    std::string method;
    std::string layer;
    const Row* values;
    bool reference = false;
    bool selected = false;
    const EditingResults* editing = nullptr;
  };
  // The unedited LM's numbers do not depend on the layer: the first editor folder that has each.
  Row unedited;
  for (const auto& [type, results] : e.types) {
    for (const auto& [layer, r] : results.layers) {
      for (std::size_t c = 0; c < kColumns; ++c) {
        if (!unedited[c] && r.editing.unedited[c]) unedited[c] = r.editing.unedited[c];
      }
    }
  }
  std::vector<TableRow> rows;
  if (!row_empty(unedited)) rows.push_back({"unedited LM", "—", &unedited, true});
  for (const auto& [name, values] : e.baselines) rows.push_back({name + " (baseline)", "—", &values, true});
  for (const auto& [type, results] : e.types) {
    for (const auto& [layer, r] : results.layers) {
      if (row_empty(r.editing.edited)) continue;
      rows.push_back({type, std::to_string(layer), &r.editing.edited, false, results.selected_layer == layer,
                      &r.editing});
    }
  }
  if (rows.empty()) return "";
  // Columns no row has are left out (a run of the generation benchmark alone has one pair).
  std::vector<std::size_t> columns;
  for (std::size_t c = 0; c < kColumns; ++c) {
    if (std::any_of(rows.begin(), rows.end(), [&](const TableRow& r) { return (*r.values)[c].has_value(); }))
      columns.push_back(c);
  }
  std::string out =
      "<h3>CounterFact editing</h3>\n<div class=\"scroll\"><table class=\"editing\">\n<caption>Each cell: "
      "mean [95% bootstrap interval], three decimals. Efficacy, paraphrase and neighborhood (specificity) "
      "are fractions of samples in [0, 1], as <code>eval fact-gen</code> writes them (the paper shows "
      "them ×100)."
      "</caption>\n<thead><tr><th>method</th><th>layer</th>";
  for (const std::size_t c : columns) out += "<th>" + std::string(kColumnNames[c]) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const TableRow& row : rows) {
    std::string classes;
    if (row.reference) classes = "reference";
    if (row.selected) classes = "selected";
    out += classes.empty() ? "<tr>" : "<tr class=\"" + classes + "\">";
    out += "<td>" + escape_html(row.method) + "</td><td>" + escape_html(row.layer) +
           (row.selected ? "<span class=\"badge\">selected</span>" : "") + "</td>";
    for (const std::size_t c : columns) {
      const std::optional<Stat>& value = (*row.values)[c];
      if (!value) {
        out += "<td class=\"num muted\">—</td>";
        continue;
      }
      std::string title;
      if (c == kEssence && row.editing != nullptr && row.editing->essence_fluency) {
        title = "fluency of the edited generations " + cell_text(*row.editing->essence_fluency);
        if (row.editing->essence_reference_fluency)
          title += "; of the references " + cell_text(*row.editing->essence_reference_fluency);
      }
      out += title.empty() ? "<td class=\"num\">" : "<td class=\"num\" title=\"" + escape_html(title) + "\">";
      out += cell_text(*value) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
  out +=
      "<p class=\"note\">Fluency: weighted n-gram entropy of the generations, in bits. Consistency and "
      "essence: TF-IDF cosines in [0, 1]. The unedited LM is scored on the editors' prompts.";
  if (std::any_of(rows.begin(), rows.end(), [](const TableRow& r) { return r.selected; }))
    out +=
        " <span class=\"badge\">selected</span> marks the layer chosen by <code>layer_selection.json</code>.";
  out += "</p>\n";
  // The layer selection's scores, when there are several layers to choose from.
  for (const auto& [type, results] : e.types) {
    if (!results.selected_layer || results.selection_scores.size() < 2) continue;
    std::vector<std::string> scores;
    for (const auto& [layer, score] : results.selection_scores)
      scores.push_back(std::to_string(layer) + ": " + fixed(score, 3));
    out += "<p class=\"muted\">" + escape_html(type) + ": layer " + std::to_string(*results.selected_layer) +
           " selected (" +
           escape_html(results.selection_rule.empty() ? "layer_selection.json" : results.selection_rule) +
           "; " + escape_html(join(scores, ", ")) + ").</p>\n";
  }
  return out;
}

ChartPoint to_point(double x, const Stat& s) { return {x, s.mean, s.lower, s.upper}; }

bool worth_plotting(const LineChart& chart) {
  return std::any_of(chart.series.begin(), chart.series.end(),
                     [](const ChartSeries& s) { return s.points.size() >= 2; });
}

std::string render_editing_charts(const Experiment& e) {
  const bool several_types = e.types.size() > 1;
  std::optional<double> marker;
  if (e.types.size() == 1 && e.types.begin()->second.selected_layer)
    marker = static_cast<double>(*e.types.begin()->second.selected_layer);
  const auto chart_of = [&](const std::string& id, const std::string& title, const std::string& y_label,
                            const std::vector<Column>& columns) {
    LineChart chart;
    chart.id = id;
    chart.title = title;
    chart.x_label = "editor layer";
    chart.y_label = y_label;
    chart.marker_x = marker;
    chart.marker_label = "selected";
    for (const auto& [type, results] : e.types) {
      for (const Column c : columns) {
        ChartSeries s;
        s.name = columns.size() > 1 ? (several_types ? type + " " : "") + kColumnNames[c] : type;
        for (const auto& [layer, r] : results.layers) {
          if (r.editing.edited[c])
            s.points.push_back(to_point(static_cast<double>(layer), *r.editing.edited[c]));
        }
        if (!s.points.empty()) chart.series.push_back(std::move(s));
      }
    }
    return chart;
  };
  const std::vector<LineChart> charts{
      chart_of("editing-scores", "Efficacy, paraphrase, neighborhood by layer", "score (fraction)",
               {kEfficacy, kParaphrase, kNeighborhood}),
      chart_of("editing-fluency", "Fluency by layer", "fluency (bits)", {kFluency}),
      chart_of("editing-consistency", "Consistency by layer", "consistency (cosine)", {kConsistency}),
      chart_of("editing-essence", "Essence by layer", "essence (cosine)", {kEssence})};
  std::string out;
  for (const LineChart& chart : charts) {
    if (worth_plotting(chart)) out += render_svg(chart) + "\n";
  }
  if (out.empty()) return "";
  return "<h3>Editing by layer</h3>\n<p class=\"muted\">Means with 95% intervals (error bars).</p>\n"
         "<div class=\"charts\">\n" +
         out + "</div>\n";
}

struct ClsRow {
  std::string type;
  std::int64_t layer;
  std::size_t variant;
  const std::map<std::int64_t, ClsResult>* by_entity_layer;
};

std::vector<ClsRow> cls_rows(const Experiment& e) {
  std::vector<ClsRow> rows;
  for (const auto& [type, results] : e.types) {
    for (const auto& [layer, r] : results.layers) {
      for (std::size_t v = 0; v < r.cls.size(); ++v) {
        if (!r.cls[v].empty()) rows.push_back({type, layer, v, &r.cls[v]});
      }
    }
  }
  return rows;
}

std::string render_cls(const Experiment& e) {
  const std::vector<ClsRow> rows = cls_rows(e);
  if (rows.empty()) return "";
  std::string out =
      "<h3>Factual-error classification</h3>\n<div class=\"scroll\"><table class=\"classification\">\n"
      "<caption>Positive class: the LM is wrong (contextual: it will not follow the new fact stated in "
      "context; decontextual: it does not know the true fact). Per editor, editor layer and variant, the "
      "entity layer with the best contextual F1 (the lowest on a tie) and, at it, accuracy, F1 and MCC with "
      "95% bootstrap intervals for both tasks. Control task: shuffled labels; control model: a randomly "
      "initialised LM.</caption>\n<thead><tr><th>editor</th><th>editor layer</th><th>variant</th>"
      "<th>best entity layer</th><th>task</th><th>accuracy</th><th>F1</th><th>MCC</th></tr></thead>\n"
      "<tbody>\n";
  for (const ClsRow& row : rows) {
    // eval fact-cls's best_entity_layer (METHOD §8.15): the best contextual F1, the lowest entity layer
    // on a tie (ascending candidates); the lowest layer when no F1 is defined.
    std::vector<eval::LayerCandidate> candidates;
    for (const auto& [entity_layer, result] : *row.by_entity_layer)
      candidates.push_back({entity_layer, {result.contextual.f1.mean}});
    const auto best = row.by_entity_layer->find(
        eval::select_layer(candidates).best_layer.value_or(candidates.front().layer));
    const ClsResult& r = best->second;
    // One row per task; the editor's cells span both, so the table stays narrow enough for a page.
    out += "<tr><td rowspan=\"2\">" + escape_html(row.type) + "</td><td rowspan=\"2\">" +
           std::to_string(row.layer) + "</td><td rowspan=\"2\">" + kVariantNames[row.variant] +
           "</td><td rowspan=\"2\">" + std::to_string(best->first) + "</td>";
    for (const bool contextual : {true, false}) {
      const ClsTask& task = contextual ? r.contextual : r.decontextual;
      out += std::string(contextual ? "" : "<tr class=\"pair-end\">") + "<td>" +
             (contextual ? "contextual" : "decontextual") + "</td>";
      for (const Stat* s : {&task.accuracy, &task.f1, &task.mcc})
        out += "<td class=\"num\">" + cell_text(*s) + "</td>";
      out += "</tr>\n";
    }
  }
  out += "</tbody></table></div>\n";

  // F1 by entity layer, one line per editor (and editor layer, when there are several) and variant.
  bool several_layers = false;
  for (const ClsRow& row : rows) several_layers = several_layers || row.layer != rows.front().layer;
  std::string charts;
  for (const bool contextual : {true, false}) {
    LineChart chart;
    chart.id = contextual ? "cls-contextual-f1" : "cls-decontextual-f1";
    chart.title = std::string(contextual ? "Contextual" : "Decontextual") + " F1 by entity layer";
    chart.x_label = "entity layer";
    chart.y_label = "F1";
    std::size_t most_points = 0;
    for (const ClsRow& row : rows) {
      ChartSeries s;
      s.name = row.type + (several_layers ? " @" + std::to_string(row.layer) : "") +
               (row.variant == 0 ? "" : std::string(" (") + kVariantNames[row.variant] + ")");
      for (const auto& [entity_layer, r] : *row.by_entity_layer)
        s.points.push_back(
            to_point(static_cast<double>(entity_layer), contextual ? r.contextual.f1 : r.decontextual.f1));
      most_points = std::max(most_points, s.points.size());
      chart.series.push_back(std::move(s));
    }
    // Error bars on two dozen layers per line would hide the lines: a band instead.
    chart.intervals = most_points > 8 ? IntervalStyle::kBand : IntervalStyle::kErrorBars;
    if (worth_plotting(chart)) charts += render_svg(chart) + "\n";
  }
  if (!charts.empty()) {
    out +=
        "<p class=\"muted\">F1 with 95% intervals by the layer whose entity representation is scored.</p>\n"
        "<div class=\"charts\">\n" +
        charts + "</div>\n";
  }
  return out;
}

// The text with the prompt it starts with set off, so the continuation stands out.
std::string generation_html(const std::string& text, const std::string& prompt) {
  if (!prompt.empty() && text.starts_with(prompt))
    return "<span class=\"lead\">" + escape_html(prompt) + "</span>" +
           escape_html(text.substr(prompt.size()));
  return escape_html(text);
}

std::string first_text(const Node& record, const std::string& key) {
  const Node texts = record.at(key);
  if (texts.array().empty()) throw Error(texts.file, texts.path, "expected at least one text");
  return texts.at(0).text();
}

std::string render_example_file(const fs::path& path, const std::string& heading, std::size_t limit) {
  const json doc = read_json_file(path.string());
  const std::string file = path.string();
  const Node root{doc, file, ""};
  const json& records = root.array();
  if (records.empty() || limit == 0) return "";
  const std::size_t shown = std::min(limit, records.size());
  std::string out =
      "<p>" + heading + ": the first " + std::to_string(shown) + " of " + std::to_string(records.size()) +
      " prompts (<code>" + escape_html(path.filename().string()) + "</code>).</p>\n" +
      "<table class=\"examples\"><colgroup><col class=\"prompt\"><col><col></colgroup>\n"
      "<thead><tr><th>edit and prompt</th><th>before (unedited)</th><th>after (edited)</th></tr>"
      "</thead>\n<tbody>\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const Node record = root.at(i);
    const std::string prompt = record.at("prompt").text();
    const std::string before = first_text(record, "before_generations");
    const std::string after = first_text(record, "after_generations");
    std::string edit;
    if (record.has("context")) edit = record.at("context").text();
    out += "<tr><td>";
    if (!edit.empty()) out += "<span class=\"muted\">edit:</span> " + escape_html(edit) + "\n";
    out += "<span class=\"muted\">prompt:</span> <span class=\"lead\">" + escape_html(prompt) +
           "</span></td><td>" + generation_html(before, prompt) + "</td><td>" +
           generation_html(after, prompt) + "</td></tr>\n";
  }
  out += "</tbody></table>\n";
  return out;
}

std::string render_examples(const Experiment& e, std::size_t limit) {
  std::string out;
  for (const auto& [type, results] : e.types) {
    // The selected layer when it has generations, else the first layer that has some.
    const LayerResults* chosen = nullptr;
    std::int64_t chosen_layer = 0;
    const auto has_records = [](const LayerResults& r) {
      return r.has_generation_records || r.has_essence_records;
    };
    if (results.selected_layer) {
      const auto found = results.layers.find(*results.selected_layer);
      if (found != results.layers.end() && has_records(found->second)) {
        chosen = &found->second;
        chosen_layer = found->first;
      }
    }
    for (const auto& [layer, r] : results.layers) {
      if (chosen == nullptr && has_records(r)) {
        chosen = &r;
        chosen_layer = layer;
      }
    }
    if (chosen == nullptr) continue;
    const std::string where = escape_html(type) + ", layer " + std::to_string(chosen_layer) +
                              (results.selected_layer == chosen_layer ? " (selected)" : "");
    if (chosen->has_generation_records)
      out += render_example_file(eval::records_file(chosen->folder.string(), "generation"),
                                 "Generation, " + where, limit);
    if (chosen->has_essence_records)
      out += render_example_file(eval::records_file(chosen->folder.string(), "essence"), "Essence, " + where,
                                 limit);
  }
  if (out.empty()) return "";
  return "<h3>Generation examples</h3>\n" + out;
}

// A folder as the page shows it: absolute, so an archived page still says where its numbers came from.
std::string display_path(const fs::path& folder) {
  fs::path absolute = fs::absolute(folder).lexically_normal();
  if (absolute.filename().empty()) absolute = absolute.parent_path();  // "results/" ends in a slash
  return absolute.string();
}

std::string render_experiment(const Experiment& e, std::size_t index, const ReportOptions& options) {
  std::string out = "<section class=\"experiment\" id=\"experiment-" + std::to_string(index) + "\">\n<h2>" +
                    escape_html(e.name) + "</h2>\n<p class=\"muted\">Folder <code>" +
                    escape_html(display_path(e.folder)) + "</code></p>\n";
  out += render_runs(e);
  out += render_editing_table(e);
  out += render_editing_charts(e);
  out += render_cls(e);
  out += render_examples(e, options.max_examples);
  out += "</section>\n";
  return out;
}

}  // namespace

std::string render_report(const fs::path& results_dir, const ReportOptions& options) {
  const std::string shown_dir = results_dir.string();
  std::error_code ec;
  if (!fs::is_directory(results_dir, ec))
    throw Error(shown_dir, "", fs::exists(results_dir, ec) ? "not a folder" : "no such folder");
  std::vector<Experiment> experiments;
  std::vector<std::string> skipped;
  try {
    std::vector<fs::path> folders;
    for (const fs::directory_entry& entry : fs::directory_iterator(results_dir)) {
      if (entry.is_directory()) folders.push_back(entry.path());
    }
    std::sort(folders.begin(), folders.end());
    for (const fs::path& folder : folders) {
      Experiment e = load_experiment(folder, folder.filename().string());
      if (e.empty()) {
        skipped.push_back(folder.filename().string());
      } else {
        experiments.push_back(std::move(e));
      }
    }
    if (experiments.empty()) {
      // RESULTS_DIR may be one experiment's folder itself.
      Experiment self = load_experiment(results_dir, fs::path(display_path(results_dir)).filename().string());
      if (!self.empty()) {
        experiments.push_back(std::move(self));
        skipped.clear();
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(e.path1().empty() ? shown_dir : e.path1().string(), "", e.code().message());
  }
  if (experiments.empty())
    throw Error(shown_dir, "",
                "no experiment found (no eval fact-gen or eval fact-cls results in its folders)");

  const std::string date = options.date.empty() ? now_utc() : options.date;
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"remedi " REMEDI_VERSION "\">\n<title>" +
      escape_html(options.title) + "</title>\n<style>" + std::string(kStyle) +
      "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>" + escape_html(options.title) +
      "</h1>\n<dl class=\"meta\"><dt>results folder</dt><dd><code>" + escape_html(display_path(results_dir)) +
      "</code></dd><dt>written</dt><dd>" + escape_html(date) + "</dd><dt>remedi</dt><dd>";
  out += std::string(REMEDI_VERSION) + "</dd><dt>experiments</dt><dd>";
  out += std::to_string(experiments.size()) + "</dd></dl>\n<nav><ol>\n";
  for (std::size_t i = 0; i < experiments.size(); ++i) {
    out += "<li><a href=\"#experiment-" + std::to_string(i + 1) + "\">" + escape_html(experiments[i].name) +
           "</a></li>\n";
  }
  out += "</ol></nav>\n";
  if (!skipped.empty()) {
    std::vector<std::string> names;
    names.reserve(skipped.size());
    for (const std::string& name : skipped) names.push_back(escape_html(name));
    out += "<p class=\"muted\">Folders without evaluation results: " + join(names, ", ") + ".</p>\n";
  }
  out += "</header>\n";
  for (std::size_t i = 0; i < experiments.size(); ++i)
    out += render_experiment(experiments[i], i + 1, options);
  out += "<footer>Written by remedi " REMEDI_VERSION
         " (<code>remedi report</code>): one file, no scripts, no external resources.</footer>\n"
         "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace remedi::report
