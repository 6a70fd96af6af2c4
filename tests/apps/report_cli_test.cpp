// `remedi report` end to end: the page written for a small hand-made results tree, one-line errors
// with no output file, and the page opened in headless Chromium (a screenshot decoded and checked for
// drawn pixels, the parsed DOM checked for the tables and charts). No model is needed.
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "png_test_support.h"
#include "test_support.h"

namespace remedi {
namespace {

using test::expect_one_line_error;

namespace fs = std::filesystem;
using nlohmann::json;

json stat(double mean, double lower, double upper) {
  return {{"mean", mean}, {"std", 0.1}, {"ci95", {lower, upper}}};
}

void write_json(const fs::path& path, const json& value) {
  fs::create_directories(path.parent_path());
  test::write_file(path.string(), value.dump(2));
}

// One experiment: a linear editor at layers 4 and 6 (efficacy, generation with records, layer
// selection), a prefix baseline, classification at three entity layers.
fs::path make_tree() {
  const fs::path root = test::temp_dir("report_cli");
  const fs::path exp = root / "edit_eval";
  write_json(exp / "args-20260101-120000.json", {{"model", "smollm2"}, {"editor_type", "linear"}});
  for (const int layer : {4, 6}) {
    const fs::path folder = exp / "linear" / std::to_string(layer);
    const double up = layer == 6 ? 0.1 : 0.0;
    write_json(folder / "efficacy_metrics.json", {{"score", stat(0.6 + up, 0.5 + up, 0.7 + up)},
                                                  {"magnitude", stat(0.1, 0.0, 0.2)},
                                                  {"unedited", {{"score", stat(0.3, 0.2, 0.4)}}}});
    write_json(folder / "generation_metrics.json",
               {{"fluency", stat(5.5 + up, 5.4 + up, 5.6 + up)},
                {"consistency", layer == 6 ? stat(0.2288, 0.2136, 0.2443) : stat(0.2, 0.19, 0.21)},
                {"unedited", {{"fluency", stat(5.9, 5.85, 5.95)}, {"consistency", stat(0.17, 0.16, 0.18)}}}});
    json records = json::array();
    for (int i = 0; i < 3; ++i) {
      records.push_back({{"context", "Paris is in <Italy> & more"},
                         {"prompt", "Paris is in"},
                         {"before_generations", {"Paris is in France, a country."}},
                         {"after_generations", {"Paris is in Italy, a country <script>x</script>."}}});
    }
    write_json(folder / "generation.json", records);
    for (int e = layer; e < layer + 3; ++e) {
      const auto task = [](double f1) {
        const auto interval = [](double v) { return json{{"value", v}, {"ci95", {v - 0.05, v + 0.05}}}; };
        return json{
            {"accuracy", 0.6},
            {"f1", f1},
            {"mcc", 0.2},
            {"intervals", {{"accuracy", interval(0.6)}, {"f1", interval(f1)}, {"mcc", interval(0.2)}}}};
      };
      write_json(folder / ("fact_cls_layer_" + std::to_string(e) + "_metrics.json"),
                 {{"contextual", task(0.3 + 0.1 * (e - layer))}, {"decontextual", task(0.4)}});
    }
  }
  write_json(exp / "linear" / "layer_selection.json",
             {{"rule", "harmonic mean"}, {"scores", {{"4", 1.0}, {"6", 2.0}}}, {"best_layer", 6}});
  write_json(exp / "prefix" / "efficacy_metrics.json", {{"score", stat(0.9, 0.85, 0.95)}});
  return root;
}

// ---- headless Chromium ----

// $REMEDI_CHROMIUM, else the first of the usual names on $PATH; empty when there is none.
std::string find_browser() {
  if (const char* env = std::getenv("REMEDI_CHROMIUM"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::vector<std::string> folders;
  for (std::string dir; std::getline(dirs, dir, ':');) folders.push_back(dir);
  for (const char* name :
       {"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    for (const std::string& dir : folders) {
      const fs::path candidate = fs::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

// The browser's flags: headless (the full browser needs it; the headless shell accepts it), no
// sandbox (tests may run as root in a container), no GPU, a throwaway profile.
std::vector<std::string> browser_command(const std::string& browser, const std::string& profile) {
  return {browser,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--hide-scrollbars",
          "--user-data-dir=" + profile};
}

// ---- tests ----

TEST(ReportCliPng, DecoderUndoesEveryFilterType) {
  // Gradients and noise in 10 rows, so every filter (None, Sub, Up, Average, Paeth) is used twice
  // on bytes where the predictors differ.
  const std::size_t width = 7;
  const std::size_t height = 10;
  std::vector<std::uint8_t> rgb;
  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x) {
      rgb.push_back(static_cast<std::uint8_t>(x * 37 + y * 11));
      rgb.push_back(static_cast<std::uint8_t>((x * x * 13 + y * 101) % 256));
      rgb.push_back(static_cast<std::uint8_t>(255 - x * y * 3));
    }
  }
  const test::PngImage image = test::decode_png(test::encode_png_rgb(width, height, rgb));
  EXPECT_EQ(image.width, width);
  EXPECT_EQ(image.height, height);
  EXPECT_EQ(image.samples, rgb);
  std::string damaged = test::encode_png_rgb(width, height, rgb);
  damaged[40] = static_cast<char>(damaged[40] ^ 0x20);
  EXPECT_THROW(test::decode_png(damaged), std::runtime_error);

  // All white but one black and one red pixel out of 100.
  std::vector<std::uint8_t> white(10 * 10 * 3, 255);
  white[0] = white[1] = white[2] = 0;
  white[3] = 200;
  white[4] = white[5] = 0;
  const test::PngImage dots = test::decode_png(test::encode_png_rgb(10, 10, white));
  EXPECT_DOUBLE_EQ(test::non_white_fraction(dots), 0.02);
  EXPECT_DOUBLE_EQ(test::colored_fraction(dots), 0.01);
}

TEST(ReportCli, WritesThePageAndPrintsItsPath) {
  const fs::path root = make_tree();
  const std::string output = (root / "out" / "report.html").string();
  fs::create_directories(root / "out");
  const auto r = test::run_remedi({"report", root.string(), "-o", output, "--title", "Smoke <test>"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, output + "\n");
  const std::string html = test::read_file(output);
  EXPECT_NE(html.find("<h1>Smoke &lt;test&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">0.229 [0.214, 0.244]</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>linear</td><td>6<span class=\"badge\">selected</span></td>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Only the output file: the atomic writer's temporary is gone.
  EXPECT_EQ(std::distance(fs::directory_iterator(root / "out"), fs::directory_iterator()), 1);
  fs::remove_all(root);
}

TEST(ReportCli, BadInputGivesOneLineAndNoOutputFile) {
  const fs::path root = make_tree();
  const std::string output = (root / "report.html").string();
  expect_one_line_error(test::run_remedi({"report", (root / "absent").string(), "-o", output}),
                        "no such folder");
  EXPECT_FALSE(fs::exists(output));

  const fs::path bad = root / "edit_eval" / "linear" / "4" / "generation_metrics.json";
  write_json(bad, {{"fluency", stat(5.0, 4.9, 5.1)}, {"consistency", {{"mean", 0.2}}}});
  expect_one_line_error(test::run_remedi({"report", root.string(), "-o", output}),
                        bad.string() + ": consistency.ci95: missing");
  EXPECT_FALSE(fs::exists(output));
  test::write_file(bad.string(), "{\"fluency\": [");
  // An earlier report is left as it was.
  test::write_file(output, "earlier");
  expect_one_line_error(test::run_remedi({"report", root.string(), "-o", output}),
                        bad.string() + ": not valid JSON");
  EXPECT_EQ(test::read_file(output), "earlier");

  const std::string empty = test::temp_dir("report_cli_empty");
  expect_one_line_error(test::run_remedi({"report", empty, "-o", empty + "/r.html"}), "no experiment found");
  EXPECT_FALSE(fs::exists(empty + "/r.html"));
  EXPECT_EQ(test::run_remedi({"report"}).exit_code, 2);  // RESULTS_DIR is required
  fs::remove_all(empty);
  fs::remove_all(root);
}

TEST(ReportCli, RendersInHeadlessChromium) {
  const std::string browser = find_browser();
  ASSERT_FALSE(browser.empty())
      << "no headless Chromium found (chromium-headless-shell or chromium on PATH, or $REMEDI_CHROMIUM): "
         "run scripts/setup.sh to install chromium-headless-shell";
  const fs::path root = make_tree();
  const std::string page = (root / "report.html").string();
  ASSERT_EQ(test::run_remedi({"report", root.string(), "-o", page}).exit_code, 0);
  const std::string url = "file://" + page;
  const std::string scratch = test::temp_dir("report_cli_browser");
  const auto start = std::chrono::steady_clock::now();

  // The screenshot: decoded for real and checked for drawn (non-white) and coloured (chart) pixels.
  const std::string png = scratch + "/page.png";
  std::vector<std::string> shot = browser_command(browser, scratch + "/profile-shot");
  shot.insert(shot.end(), {"--window-size=1200,1600", "--screenshot=" + png, url});
  const test::CommandResult s = test::run_program(shot, std::chrono::seconds(120));
  ASSERT_FALSE(s.timed_out) << "the browser ran for more than 120 s";
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(fs::exists(png)) << s.err;
  const test::PngImage image = test::decode_png(test::read_file(png));
  EXPECT_EQ(image.width, 1200U);
  EXPECT_EQ(image.height, 1600U);
  // Ink: pixels well below white (text, axes, lines); the page's light grey background and the
  // cards' borders are above the threshold, so a page that failed to render scores about 0.
  const double drawn = test::non_white_fraction(image, 200);
  const double colored = test::colored_fraction(image);
  EXPECT_GT(drawn, 0.01) << "screenshot nearly blank: " << drawn;
  EXPECT_GT(colored, 0.001) << "no coloured pixels (charts, badge): " << colored;

  // The DOM after parsing: the tables and charts are elements, the numbers and escaped text are there.
  std::vector<std::string> dump = browser_command(browser, scratch + "/profile-dom");
  dump.insert(dump.end(), {"--dump-dom", url});
  const test::CommandResult d = test::run_program(dump, std::chrono::seconds(120));
  ASSERT_FALSE(d.timed_out) << "the browser ran for more than 120 s";
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const std::string dom = d.out;
  EXPECT_NE(dom.find("<table class=\"editing\">"), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("<table class=\"classification\">"), std::string::npos);
  EXPECT_NE(dom.find("<table class=\"examples\">"), std::string::npos);
  EXPECT_GE(test::count_occurrences(dom, "<tbody>"), 3U);
  EXPECT_NE(dom.find("0.229 [0.214, 0.244]"), std::string::npos);
  EXPECT_EQ(test::count_occurrences(dom, "<svg "),
            5U);  // scores, fluency, consistency; contextual and decontextual F1
  EXPECT_EQ(test::count_occurrences(dom, "class=\"point\""), 2U + 2U + 2U + 3U * 2U * 2U);
  EXPECT_EQ(dom.find("<script"), std::string::npos);
  EXPECT_NE(dom.find("Paris is in &lt;Italy&gt; &amp; more"), std::string::npos);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ReportCli] browser: " << browser << ", screenshot + DOM in " << seconds << " s, non-white "
            << drawn << ", coloured " << colored << "\n";
  fs::remove_all(scratch);
  fs::remove_all(root);
}

}  // namespace
}  // namespace remedi
