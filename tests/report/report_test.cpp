// `remedi report`'s library (src/report): the SVG chart writer and the page rendered from a small
// hand-written results tree (the numbers in the tables, the charts' points, escaping, and one-line
// errors for a bad file).
#include "report/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "report/svg.h"
#include "test_support.h"
#include "util/error.h"

namespace remedi {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The <svg> element whose data-chart is `id` (empty when there is none).
std::string chart(const std::string& html, const std::string& id) {
  const std::size_t at = html.find("data-chart=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const std::size_t start = html.rfind("<svg", at);
  const std::size_t end = html.find("</svg>", at);
  return html.substr(start, end + 6 - start);
}

// The table row (<tr>…</tr>) that contains `part`.
std::string row_with(const std::string& html, const std::string& part) {
  const std::size_t at = html.find(part);
  if (at == std::string::npos) return "";
  const std::size_t start = html.rfind("<tr", at);
  const std::size_t end = html.find("</tr>", at);
  return html.substr(start, end + 5 - start);
}

json stat(double mean, double lower, double upper) {
  return {{"mean", mean}, {"std", 0.1}, {"ci95", {lower, upper}}};
}

json interval(double value, double lower, double upper) {
  return {{"value", value}, {"ci95", {lower, upper}}};
}

json cls_task(double f1, double shift) {
  return {{"accuracy", 0.6 + shift},
          {"f1", f1},
          {"mcc", 0.1 + shift},
          {"intervals",
           {{"accuracy", interval(0.6 + shift, 0.55 + shift, 0.65 + shift)},
            {"f1", interval(f1, f1 - 0.04, f1 + 0.04)},
            {"mcc", interval(0.1 + shift, 0.05 + shift, 0.15 + shift)}}},
          {"confusion", {{"tp", 1}, {"fp", 2}, {"tn", 3}, {"fn", 4}}},
          {"samples", 10},
          {"lm_wrong", 5}};
}

void write_json(const fs::path& path, const json& value) {
  fs::create_directories(path.parent_path());
  test::write_file(path.string(), value.dump(2));
}

// A results tree: exp_a with a linear editor at layers 3 and 5 (every editing benchmark, examples,
// layer selection, classification with a control task), the two baselines; exp_b with an identity
// classifier only; a training-only folder; unknown files.
struct Tree {
  fs::path root;
  fs::path exp_a;
};

Tree make_tree() {
  Tree t;
  t.root = test::temp_dir("report_tree");
  t.exp_a = t.root / "exp_a";
  write_json(
      t.exp_a / "args-20260101-120000.json",
      {{"model", "smollm2"}, {"editor_type", "linear"}, {"layers", {3, 5}}, {"rows", "train[5000:5010]"}});
  for (const int layer : {3, 5}) {
    const fs::path folder = t.exp_a / "linear" / std::to_string(layer);
    const double up = layer == 5 ? 0.1 : 0.0;
    for (const auto& [benchmark, mean] : std::vector<std::pair<std::string, double>>{
             {"efficacy", 0.7}, {"paraphrase", 0.5}, {"neighborhood", 0.8}}) {
      write_json(folder / (benchmark + "_metrics.json"),
                 {{"score", stat(mean + up, mean + up - 0.1, mean + up + 0.1)},
                  {"magnitude", stat(0.1, 0.0, 0.2)},
                  {"unedited", {{"score", stat(0.3, 0.2, 0.4)}, {"magnitude", stat(0.0, -0.1, 0.1)}}},
                  {"samples", 10},
                  {"prompts", 10}});
    }
    write_json(folder / "generation_metrics.json",
               {{"fluency", stat(5.5 + up, 5.4 + up, 5.6 + up)},
                {"consistency", layer == 5 ? stat(0.2288, 0.2136, 0.2443) : stat(0.2, 0.19, 0.21)},
                {"unedited", {{"fluency", stat(5.9, 5.85, 5.95)}, {"consistency", stat(0.17, 0.16, 0.18)}}},
                {"generation_seconds", 1.5},
                {"prompts", 20},
                {"samples", 10}});
    write_json(folder / "essence_metrics.json", {{"essence", stat(0.4 + up, 0.35 + up, 0.45 + up)},
                                                 {"fluency_generaton", stat(5.0, 4.9, 5.1)},
                                                 {"fluency_references", stat(5.2, 5.1, 5.3)},
                                                 {"samples", 10}});
    json records = json::array();
    for (int i = 0; i < 7; ++i) {
      const std::string prompt = "Prompt " + std::to_string(i) + " of layer " + std::to_string(layer);
      records.push_back({{"entity", "Entity"},
                         {"context", "Entity <script>alert(1)</script> & co"},
                         {"prompt", prompt},
                         {"before_generations", {prompt + " before"}},
                         {"after_generations", {prompt + " after <b>bold</b>"}}});
    }
    write_json(folder / "generation.json", records);
    // Classification at entity layers layer..layer+2, trained and control task.
    for (int e = layer; e < layer + 3; ++e) {
      const double f1 = e == layer + 1 ? 0.6 : 0.4;
      write_json(folder / ("fact_cls_layer_" + std::to_string(e) + "_metrics.json"),
                 {{"contextual", cls_task(f1, 0.0)}, {"decontextual", cls_task(0.45, 0.01)}});
      write_json(folder / ("fact_cls_layer_" + std::to_string(e) + "_control_task_metrics.json"),
                 {{"contextual", cls_task(0.3, 0.0)}, {"decontextual", cls_task(0.3, 0.0)}});
    }
    test::write_file((folder / "notes.txt").string(), "ignored");
    test::write_file((folder / "other_metrics.json").string(), "{not json: unknown files are not read");
  }
  write_json(t.exp_a / "linear" / "layer_selection.json",
             {{"rule", "harmonic mean"}, {"scores", {{"3", 1.0}, {"5", 2.0}}}, {"best_layer", 5}});
  write_json(t.exp_a / "prefix" / "efficacy_metrics.json",
             {{"score", stat(0.9, 0.85, 0.95)}, {"magnitude", stat(0.5, 0.4, 0.6)}, {"samples", 10}});
  write_json(
      t.exp_a / "replace" / "generation_metrics.json",
      {{"fluency", stat(5.39394, 5.32842, 5.45822)}, {"consistency", stat(0.22297, 0.20761, 0.23914)}});
  const fs::path exp_b = t.root / "exp_b";
  for (int e = 2; e < 4; ++e) {
    write_json(exp_b / "identity" / "2" / ("fact_cls_layer_" + std::to_string(e) + "_metrics.json"),
               {{"contextual", cls_task(0.5, 0.0)}, {"decontextual", cls_task(0.5, 0.0)}});
  }
  write_json(t.root / "training_only" / "linear" / "3" / "editor.json", {{"layer", 3}});
  return t;
}

// Tests of the page: each tree they build is removed afterwards.
class Report : public ::testing::Test {
 protected:
  Tree tree() {
    Tree t = make_tree();
    roots_.push_back(t.root);
    return t;
  }
  void TearDown() override {
    for (const fs::path& root : roots_) fs::remove_all(root);
  }

 private:
  std::vector<fs::path> roots_;
};

report::ReportOptions fixed_options() {
  report::ReportOptions options;
  options.date = "2026-01-02 03:04:05 UTC";
  options.title = "Results <of> REMEDI";
  return options;
}

// The error's message when rendering `root` throws remedi::Error, else "no error".
std::string error_of(const fs::path& root) {
  try {
    report::render_report(root, fixed_options());
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  return "no error";
}

TEST(ReportSvg, NiceTicksCoverTheRangeWithRoundSteps) {
  const std::vector<double> unit = report::nice_ticks(0.0, 1.0, 6);
  ASSERT_EQ(unit.size(), 6U);
  for (std::size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * static_cast<double>(i), 1e-12);
  EXPECT_EQ(report::nice_ticks(6.0, 29.0, 6), (std::vector<double>{5.0, 10.0, 15.0, 20.0, 25.0, 30.0}));
  const std::vector<double> ticks = report::nice_ticks(0.213, 0.244, 6);
  ASSERT_GE(ticks.size(), 2U);
  EXPECT_LE(ticks.front(), 0.213);
  EXPECT_GE(ticks.back(), 0.244);
  EXPECT_NEAR(ticks[1] - ticks[0], 0.005, 1e-12);
}

TEST(ReportSvg, DrawsOnePolylineAndOneMarkerPerPointWithIntervals) {
  report::LineChart c;
  c.id = "t";
  c.title = "T <1>";
  c.x_label = "layer";
  c.y_label = "score";
  c.series.push_back(
      {"a & b", {{1, 0.5, 0.4, 0.6}, {2, 0.7, 0.6, 0.8}, {3, 0.6, std::nullopt, std::nullopt}}});
  c.series.push_back({"c", {{1, 0.1, 0.0, 0.2}, {2, std::nan(""), 0.0, 0.0}}});
  const std::string svg = report::render_svg(c);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0U);
  EXPECT_EQ(test::count_occurrences(svg, "<polyline"), 2U);
  EXPECT_EQ(test::count_occurrences(svg, "class=\"point\""), 4U);  // the NaN point is left out
  EXPECT_EQ(test::count_occurrences(svg, "class=\"ci-bars\""), 2U);
  EXPECT_NE(svg.find("data-series=\"a &amp; b\""), std::string::npos);
  EXPECT_NE(svg.find("T &lt;1&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<1>"), std::string::npos);
  c.intervals = report::IntervalStyle::kBand;
  EXPECT_EQ(test::count_occurrences(report::render_svg(c), "class=\"ci-band\""), 2U);
  EXPECT_NE(report::render_svg({}).find("no data"), std::string::npos);
  // Values too large to place are left out like NaN, instead of making every coordinate NaN.
  c.series.push_back({"huge", {{1, 1e308, 0.0, 0.0}, {2, -1e308, 0.0, 0.0}, {3, 0.3, -1e308, 1e308}}});
  const std::string huge = report::render_svg(c);
  EXPECT_EQ(huge.find("nan"), std::string::npos);
  EXPECT_EQ(huge.find("inf"), std::string::npos);
  EXPECT_EQ(test::count_occurrences(huge, "class=\"point\""), 5U);
}

TEST(ReportSvg, EscapesMarkupAndRepairsInvalidUtf8) {
  EXPECT_EQ(report::escape_html("<a href='x'>\"&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(report::escape_html("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \xef\xbf\xbd");
}

TEST_F(Report, EditingTableHoldsEveryRowWithIntervals) {
  const Tree t = tree();
  const std::string html = report::render_report(t.root, fixed_options());
  const std::string selected = row_with(html, "<td>linear</td><td>5<span class=\"badge\">selected</span>");
  ASSERT_FALSE(selected.empty());
  EXPECT_NE(selected.find("class=\"selected\""), std::string::npos);
  // Columns: efficacy, paraphrase, neighborhood, fluency, consistency, essence.
  EXPECT_NE(
      selected.find(">0.800 [0.700, 0.900]</td><td class=\"num\">0.600 [0.500, 0.700]</td>"
                    "<td class=\"num\">0.900 [0.800, 1.000]</td><td class=\"num\">5.600 [5.500, 5.700]</td>"
                    "<td class=\"num\">0.229 [0.214, 0.244]</td>"),
      std::string::npos)
      << selected;
  // The essence cell names the essence generations' fluency (the misspelt key is read too).
  EXPECT_NE(selected.find("title=\"fluency of the edited generations 5.000 [4.900, 5.100]; of the references "
                          "5.200 [5.100, 5.300]\">0.500 [0.450, 0.550]</td>"),
            std::string::npos)
      << selected;
  const std::string layer3 = row_with(html, "<td>linear</td><td>3</td>");
  EXPECT_NE(layer3.find("<td class=\"num\">0.700 [0.600, 0.800]</td>"), std::string::npos) << layer3;
  EXPECT_EQ(layer3.find("selected"), std::string::npos);
  const std::string unedited = row_with(html, "<td>unedited LM</td>");
  EXPECT_NE(unedited.find("<td class=\"num\">0.300 [0.200, 0.400]</td>"), std::string::npos) << unedited;
  EXPECT_NE(
      unedited.find("<td class=\"num\">5.900 [5.850, 5.950]</td><td class=\"num\">0.170 [0.160, 0.180]</td>"
                    "<td class=\"num muted\">—</td>"),
      std::string::npos)
      << unedited;
  EXPECT_NE(row_with(html, "<td>prefix (baseline)</td>").find("0.900 [0.850, 0.950]"), std::string::npos);
  const std::string replace = row_with(html, "<td>replace (baseline)</td>");
  EXPECT_NE(
      replace.find("<td class=\"num\">5.394 [5.328, 5.458]</td><td class=\"num\">0.223 [0.208, 0.239]</td>"),
      std::string::npos)
      << replace;
  // Rows in order: unedited, baselines, editors by layer.
  EXPECT_LT(html.find("<td>unedited LM</td>"), html.find("<td>prefix (baseline)</td>"));
  EXPECT_LT(html.find("<td>replace (baseline)</td>"), html.find("<td>linear</td><td>3</td>"));
  EXPECT_LT(html.find("<td>linear</td><td>3</td>"), html.find("<td>linear</td><td>5"));
  EXPECT_NE(html.find("layer 5 selected (harmonic mean; 3: 1.000, 5: 2.000)"), std::string::npos);
}

TEST_F(Report, ChartsHaveOnePointPerLayerAndSeries) {
  const Tree t = tree();
  const std::string html = report::render_report(t.root, fixed_options());
  const std::string scores = chart(html, "editing-scores");
  ASSERT_FALSE(scores.empty());
  EXPECT_EQ(test::count_occurrences(scores, "<polyline"), 3U);  // efficacy, paraphrase, neighborhood
  EXPECT_EQ(test::count_occurrences(scores, "class=\"point\""), 6U);
  EXPECT_NE(scores.find("data-series=\"paraphrase\""), std::string::npos);
  EXPECT_NE(scores.find("class=\"marker\""), std::string::npos);  // the selected layer
  for (const char* id : {"editing-fluency", "editing-consistency", "editing-essence"}) {
    const std::string svg = chart(html, id);
    EXPECT_EQ(test::count_occurrences(svg, "<polyline"), 1U) << id;
    EXPECT_EQ(test::count_occurrences(svg, "class=\"point\""), 2U) << id;
  }
  for (const char* id : {"cls-contextual-f1", "cls-decontextual-f1"}) {
    const std::string svg = chart(html, id);
    ASSERT_FALSE(svg.empty()) << id;
    // Per experiment: exp_a has four lines (linear @3, @5, each trained and control task) of 3 points.
    EXPECT_EQ(test::count_occurrences(svg, "<polyline"), 4U) << id;
    EXPECT_EQ(test::count_occurrences(svg, "class=\"point\""), 12U) << id;
    EXPECT_NE(svg.find("data-series=\"linear @5 (control task)\""), std::string::npos) << id;
  }
  // exp_b (one editor layer, two entity layers) gets its own classification charts.
  const std::string exp_b = html.substr(html.find("<h2>exp_b</h2>"));
  EXPECT_EQ(test::count_occurrences(chart(exp_b, "cls-contextual-f1"), "class=\"point\""), 2U);
  EXPECT_EQ(chart(exp_b, "editing-scores"), "");
}

TEST_F(Report, ClassificationTableShowsTheBestEntityLayer) {
  const Tree t = tree();
  const std::string html = report::render_report(t.root, fixed_options());
  // Layer 5's entity layers 5, 6, 7 have contextual F1 0.4, 0.6, 0.4: 6 is the best. Two rows, one
  // per task, under the editor's cells.
  const std::string head =
      "<tr><td rowspan=\"2\">linear</td><td rowspan=\"2\">5</td><td rowspan=\"2\">trained</td>";
  const std::string contextual = row_with(html, head);
  EXPECT_NE(contextual.find(
                "<td rowspan=\"2\">6</td><td>contextual</td><td class=\"num\">0.600 [0.550, 0.650]</td>"
                "<td class=\"num\">0.600 [0.560, 0.640]</td><td class=\"num\">0.100 [0.050, 0.150]</td>"),
            std::string::npos)
      << contextual;
  const std::string decontextual =
      row_with(html.substr(html.find(head) + head.size()), "<td>decontextual</td>");
  EXPECT_NE(decontextual.find(
                "<td>decontextual</td><td class=\"num\">0.610 [0.560, 0.660]</td><td class=\"num\">0.450 "
                "[0.410, 0.490]</td><td class=\"num\">0.110 [0.060, 0.160]</td>"),
            std::string::npos)
      << decontextual;
  // A tie (0.3 everywhere) keeps the lowest entity layer.
  EXPECT_NE(html.find("<td rowspan=\"2\">linear</td><td rowspan=\"2\">3</td><td rowspan=\"2\">control "
                      "task</td><td rowspan=\"2\">3</td>"),
            std::string::npos);
  EXPECT_NE(
      html.find("<td rowspan=\"2\">identity</td><td rowspan=\"2\">2</td><td rowspan=\"2\">trained</td><td "
                "rowspan=\"2\">2</td>"),
      std::string::npos);
  EXPECT_EQ(test::count_occurrences(html, "<td>contextual</td>"),
            5U);  // linear 3 and 5, trained and control task; identity 2
}

TEST_F(Report, ExamplesAreEscapedAndLimited) {
  const Tree t = tree();
  const std::string html = report::render_report(t.root, fixed_options());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("Entity &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("after &lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("Generation, linear, layer 5 (selected): the first 5 of 7 prompts"), std::string::npos);
  EXPECT_NE(html.find("Prompt 4 of layer 5"), std::string::npos);
  EXPECT_EQ(html.find("Prompt 5 of layer 5"), std::string::npos);
  EXPECT_EQ(html.find("Prompt 0 of layer 3"), std::string::npos);  // only the selected layer's
}

TEST_F(Report, HeaderAndSelfContainedPage) {
  const Tree t = tree();
  const std::string html = report::render_report(t.root, fixed_options());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_NE(html.find("<h1>Results &lt;of&gt; REMEDI</h1>"), std::string::npos);
  EXPECT_NE(html.find("2026-01-02 03:04:05 UTC"), std::string::npos);
  EXPECT_NE(html.find("<dt>remedi</dt><dd>" REMEDI_VERSION "</dd>"), std::string::npos);
  EXPECT_NE(html.find(t.root.string()), std::string::npos);
  EXPECT_NE(html.find("Folders without evaluation results: training_only."), std::string::npos);
  EXPECT_LT(html.find("<h2>exp_a</h2>"), html.find("<h2>exp_b</h2>"));
  EXPECT_EQ(html.find("<h2>training_only</h2>"), std::string::npos);
  EXPECT_NE(html.find("args-20260101-120000.json"), std::string::npos);
  // Nothing to fetch: no scripts, no links, no external images or fonts.
  for (const char* part :
       {"<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "http://", "https://"}) {
    std::string rest = html;
    // The SVG namespace is a name, not a fetch.
    for (std::size_t at = rest.find("http://www.w3.org/2000/svg"); at != std::string::npos;
         at = rest.find("http://www.w3.org/2000/svg"))
      rest.erase(at, 26);
    EXPECT_EQ(rest.find(part), std::string::npos) << part;
  }
  // The same inputs and date give the same page.
  EXPECT_EQ(html, report::render_report(t.root, fixed_options()));
}

TEST_F(Report, OneExperimentFolderRendersAsItself) {
  const Tree t = tree();
  const std::string html = report::render_report(t.exp_a, fixed_options());
  EXPECT_NE(html.find("<h2>exp_a</h2>"), std::string::npos);
  EXPECT_EQ(test::count_occurrences(html, "<section class=\"experiment\""), 1U);
  EXPECT_NE(html.find("0.229 [0.214, 0.244]"), std::string::npos);
}

TEST_F(Report, NullMeansShowAsNotAvailable) {
  const Tree t = tree();
  write_json(t.exp_a / "linear" / "3" / "efficacy_metrics.json",
             {{"score", {{"mean", nullptr}, {"std", nullptr}, {"ci95", {nullptr, nullptr}}}}});
  const std::string html = report::render_report(t.root, fixed_options());
  EXPECT_NE(row_with(html, "<td>linear</td><td>3</td>").find("<td class=\"num\">n/a [n/a, n/a]</td>"),
            std::string::npos);
}

TEST_F(Report, BadFilesGiveOneLineNamingFileAndField) {
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "3" / "efficacy_metrics.json";
    test::write_file(file.string(), "{\"score\": ");
    const std::string message = error_of(t.root);
    EXPECT_NE(message.find(file.string() + ": not valid JSON"), std::string::npos) << message;
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "5" / "generation_metrics.json";
    write_json(file, {{"fluency", stat(5.0, 4.9, 5.1)}, {"consistency", {{"mean", 0.2}}}});
    EXPECT_EQ(error_of(t.root), file.string() + ": consistency.ci95: missing");
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "5" / "paraphrase_metrics.json";
    write_json(file, {{"score", {{"mean", "high"}, {"ci95", {0, 1}}}}});
    EXPECT_EQ(error_of(t.root), file.string() + ": score.mean: expected a number");
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "3" / "fact_cls_layer_4_control_task_metrics.json";
    json doc = {{"contextual", cls_task(0.3, 0.0)}, {"decontextual", cls_task(0.3, 0.0)}};
    doc["decontextual"]["intervals"].erase("mcc");
    write_json(file, doc);
    EXPECT_EQ(error_of(t.root), file.string() + ": decontextual.intervals.mcc: missing");
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "5" / "generation.json";
    write_json(file, json::array({{{"prompt", "p"}, {"before_generations", {"p a"}}}}));
    EXPECT_EQ(error_of(t.root), file.string() + ": [0].after_generations: missing");
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "linear" / "layer_selection.json";
    write_json(file, {{"rule", "x"}});
    EXPECT_EQ(error_of(t.root), file.string() + ": best_layer: missing");
    write_json(file, {{"best_layer", 99}});
    EXPECT_EQ(error_of(t.root), file.string() + ": best_layer: 99 is not a layer with results in " +
                                    (t.exp_a / "linear").string());
  }
  {
    const Tree t = tree();
    const fs::path file = t.exp_a / "args-20260101-120000.json";
    test::write_file(file.string(), "not json");
    EXPECT_NE(error_of(t.root).find(file.string() + ": not valid JSON"), std::string::npos);
  }
}

TEST_F(Report, MissingFolderOrNoExperimentIsAnError) {
  const std::string empty = test::temp_dir("report_empty");
  EXPECT_EQ(error_of(empty + "/absent"), empty + "/absent: no such folder");
  fs::create_directories(fs::path(empty) / "training" / "linear" / "3");
  EXPECT_NE(error_of(empty).find(empty + ": no experiment found"), std::string::npos);
  fs::remove_all(empty);
}

}  // namespace
}  // namespace remedi
