// `remedi report`: every experiment under a results folder (the files `remedi eval fact-gen` and
// `remedi eval fact-cls` write, docs/FORMATS.md) rendered as one self-contained HTML page: the
// CounterFact editing table, charts by layer (inline SVG from svg.h), the factual-error
// classification table and a few generation examples. No script and no external resource, so the
// page can be mailed or archived as one file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace remedi::report {

struct ReportOptions {
  std::string title = "REMEDI results";
  // The "written" date in the header; empty: now, in UTC. Tests fix it so pages compare equal.
  std::string date;
  std::size_t max_examples = 5;  // generation examples per editor type
};

// The page for `results_dir`: one section per experiment folder (sorted by name) holding evaluation
// results; folders without any are listed in the header. A results_dir that is itself an experiment
// folder (its own <type>/<layer>/ files) is rendered as the one experiment. Throws remedi::Error (one
// line naming the file and the field) when the folder is missing or holds no experiment, and when a
// file the report reads is not valid JSON or lacks a field the report shows. Unknown files are ignored.
std::string render_report(const std::filesystem::path& results_dir, const ReportOptions& options);

}  // namespace remedi::report
