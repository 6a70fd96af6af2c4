// What the evaluations (and training) share: where data, shipped editors and results live, loading
// samples by data-set name and selecting evaluation rows, loading the editors an evaluation runs, and
// writing result files (METHOD §2.4, §8.14, §9.2). The results folder's file names are in
// eval/results_layout.h.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "remedi/classification.h"
#include "util/error.h"

namespace remedi {
class Editor;
}
namespace remedi::lm {
class CausalLM;
}

namespace remedi::dist {
class Group;
}  // namespace remedi::dist

namespace remedi::evaluate {

// $REMEDI_DATA, else the repository's data/ folder (REMEDI_DEFAULT_DATA_DIR, fixed at build time).
std::string data_dir();

// The editors folder an -e flag names: the flag itself when it is an existing folder (or contains a
// '/'), else <data_dir()>/editors/<flag> when that exists (the editors shipped in data/editors, e.g.
// "smollm2-counterfact"), else the flag unchanged (loading then names it in its error).
std::string editors_dir(const std::string& flag);

// `flag` if given, else $REMEDI_RESULTS, else "results" (relative to the working directory).
std::string results_dir(const std::string& flag);

struct SampleSource {
  std::string dataset;  // a name from data::dataset_names()
  std::string file;     // empty: the data set's default input under data_dir()
  std::string split;    // e.g. "train[:5000]"; empty: every row
  std::string cmudict;
  std::uint64_t seed = 123456;
};

std::vector<data::MediationSample> load_samples(const SampleSource& source);

// The file `source` reads: source.file, else the data set's default input under data_dir().
std::string sample_source_file(const SampleSource& source);

// Returns body(). The library's editing, scoring and training functions take samples from anywhere, so
// an error about one names its file "<data>"; a caller that knows the file passes it here, and such an
// error is rethrown naming `file` (docs/FUZZING.md: a bad -d samples row names its file).
template <class Body>
auto naming_data_file(const std::string& file, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    if (e.file() != "<data>") throw;
    throw Error(file, e.field(), e.reason());
  }
}

// Writes <folder>/args-<YYYYmmdd-HHMMSS>.json (METHOD §2.4), creating the folder.
void write_args_file(const std::string& folder, const nlohmann::json& args);

// What every evaluation shares (METHOD §9.2 groups experiment, model, editor, preprocessing,
// logging; the CLI's flags map one to one) and what it selects. Each evaluation derives its own
// options from it.
struct EvalOptions {
  std::string name;
  std::string model = "smollm2";
  std::string editors;
  std::string type = "linear";
  std::vector<std::int64_t> layers;
  SampleSource data{"counterfact", "", "train[5000:10000]", "", 123456};
  bool small = false;
  bool attribute_no_entity = false;
  std::int64_t batch_size = 16;
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::string results;
  bool quiet = false;
  // The job's process group (remedi/distributed.h); null: one process. Every evaluation splits its
  // per-row work across the ranks (evaluate/sharded.h; docs/DISTRIBUTED.md says what each shards), and
  // rank 0 alone writes; with a group, each evaluation function is a collective every rank calls.
  std::shared_ptr<dist::Group> group;
};
nlohmann::json eval_options_json(const EvalOptions& options);
// The evaluation rows (--rows, or [5000, 6000) with --small; --attribute-no-entity applied) of
// options.data.dataset. Throws remedi::Error naming --rows when there are fewer than `minimum`, or,
// with `require_unmediated` (the CounterFact benchmarks), the sample without an unmediated target.
std::vector<data::MediationSample> load_eval_samples(const EvalOptions& options, std::size_t minimum = 1,
                                                     bool require_unmediated = true);

// The options of the two classification evaluations (eval fact-cls, eval bias-cls; METHOD §9.3).
struct ClassificationOptions : EvalOptions {
  std::vector<std::int64_t> entity_layers;  // empty: the editor's layer to the last
  bool control_task = false;
  bool control_model = false;
  bool no_normalize = false;
  std::string similarity = "dot";
};
nlohmann::json classification_options_json(const ClassificationOptions& options);
// --similarity as the enum; throws remedi::Error naming the flag for anything but dot and cosine.
Similarity parse_similarity(const ClassificationOptions& options);
// The entity layers scored for the editor at `layer` of a model with `n_layer` blocks: --entity-layers,
// else `layer` to the last. Throws remedi::Error naming --entity-layers for a layer the model lacks.
std::vector<std::int64_t> entity_layers_for(const ClassificationOptions& options, std::int64_t layer,
                                            std::int64_t n_layer);
// "_control_task" and/or "_control_model" for the output names (METHOD §8.14).
std::string control_suffix(const ClassificationOptions& options);

// The editors an evaluation runs, in eval mode, all loaded (and checked against `model`) before any
// work starts: `type` at each of `layers` from `editors_dir`, or built in for identity and null
// (no files). `layers` empty: every saved layer. Throws remedi::Error naming the flag at fault.
struct LoadedEditors {
  std::vector<std::int64_t> layers;
  std::vector<std::shared_ptr<Editor>> editors;
};
LoadedEditors load_eval_editors(const std::string& editors_dir, const std::string& type,
                                std::vector<std::int64_t> layers, const lm::CausalLM& model);

// Writes `value` as pretty JSON to `path` atomically (creating parent folders).
void write_json(const std::string& path, const nlohmann::json& value);

// {mean, std, ci95: [lower, upper]}: an aggregate with the bootstrap 95% interval of its mean
// (docs/METRICS.md), the shape every metrics file gives a per-sample statistic.
nlohmann::json aggregate_json(const eval::Aggregate& aggregate);

// METHOD §8.14: results already written are not computed again. The object in `metrics_path` (a
// metrics file, written after its records, so its presence marks a finished run) when it exists and
// parses, saying on stderr that the run is skipped; null otherwise.
nlohmann::json finished_metrics(const std::string& metrics_path);

}  // namespace remedi::evaluate
