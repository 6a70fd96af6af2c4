// `remedi report RESULTS_DIR [-o report.html] [--title TEXT]`: every experiment under a results folder
// as one self-contained HTML page (src/report/report.h). The page is built in memory first and written
// atomically, so a bad input file leaves no output file, and an old report is never half overwritten.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "report/report.h"
#include "util/atomic_file.h"

namespace remedi::cli {

namespace {

struct ReportArgs {
  std::string results;
  std::string output = "report.html";
  std::string title = "REMEDI results";
};

void run(const ReportArgs& a) {
  report::ReportOptions options;
  options.title = a.title;
  const std::string html = report::render_report(a.results, options);
  AtomicOutputFile out(a.output);
  out.write(html);
  out.commit();
  std::cout << a.output << "\n";
}

}  // namespace

void register_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "One self-contained HTML page (tables, SVG charts, examples) of every experiment in a results folder");
  cmd->add_option("RESULTS_DIR", a->results,
                  "Results folder (its experiment folders), or one experiment folder")
      ->required();
  cmd->add_option("-o,--output", a->output, "HTML file to write")->capture_default_str();
  cmd->add_option("--title", a->title, "Page title")->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
