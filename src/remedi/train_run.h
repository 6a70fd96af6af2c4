// Training the editors of one experiment, as `remedi train` does (METHOD §7, the original's
// train_editors, §9.3): the data set's rows, the random hold-out split (METHOD §3.6), one editor per
// (type, layer) precomputed, fitted or trained (remedi/trainer.h) and saved to
// <results>/<name>/<type>/<layer>/ (remedi/editor_file.h) with its training report, and a checkpoint
// beside it after every epoch from which `resume` continues a killed run.
//
//   lm::LoadedModel model = lm::load_model("smollm2");
//   TrainRunOptions options;
//   options.name = "my_editors";
//   options.layers = {6};
//   TrainRunResult result = train_editors(model, options);
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "remedi/trainer.h"

namespace remedi {

namespace dist {
class Group;
}

// The options of `remedi train`, one per flag (the flag's name in comments where it differs).
struct TrainRunOptions {
  std::string name;   // -n: the experiment folder under the results root
  std::string model;  // -m, recorded in the args file; empty: the loaded model's path
  evaluate::SampleSource data{"counterfact", "", "train[:5000]", "", 123456};  // -d, -f, --rows
  std::int64_t train_size = 0;               // only the first N selected rows (0: all)
  std::vector<std::int64_t> layers;          // empty: every layer of the model
  std::vector<std::string> types{"linear"};  // -t: editor types (remedi/editor.h)
  double lam_m = 1.0;                        // loss weights (METHOD §7.2)
  std::optional<double> lam_u;               // unset: default_unmediated_weight(data.dataset)
  double lam_kl = 10.0;
  std::optional<double> lam_norm;
  std::optional<double> lam_ess;
  double lr = 1e-3;
  double adam_eps = 1e-8;
  std::int64_t batch_size = 16;
  std::int64_t max_epochs = 20;
  std::int64_t patience = 2;
  double hold_out = 0.1;  // validation fraction of the rows
  bool use_entity = false;
  bool use_all_entity_tokens = false;
  bool attribute_no_entity = false;
  std::int64_t rank = 0;
  std::string device = "cpu";  // how the caller loaded the model, recorded in the args file
  std::string dtype = "fp32";
  std::uint64_t seed = 123456;          // the hold-out split; editor initialisation (seed + layer)
  std::string results;                  // --results-dir (evaluate::results_dir)
  std::string cache_dir;                // precomputed editor inputs cached here; empty: none
  bool resume = false;                  // skip saved editors, continue a killed run from its checkpoint
  bool clear = false;                   // --clear-results-dir: delete the experiment folder first
  bool reference_mode = false;          // compute as the original does (METHOD Q4)
  bool faithful = false;                // quirks Q1 (KL of the last row) and Q2 (keep the last epoch)
  bool quiet = false;                   // no progress bars or per-epoch lines on stderr
  std::int64_t prefix_cache_mib = 512;  // TrainOptions::prefix_cache_bytes, in MiB (same results)
  // The job's process group (remedi/distributed.h; docs/DISTRIBUTED.md); null: one process. Nothing
  // of it is recorded in the args file or the checkpoints: --resume works with any number of ranks.
  std::shared_ptr<dist::Group> group;
  // How the group's ranks share the work (--parallel). Data: every editor is trained by all ranks,
  // each taking its part of every batch (same batches, split and seeds as one process; rank 0 writes).
  // Layers: the editors (types x layers, in order) are dealt to the ranks in turn, each trained and
  // saved by its rank alone, as one process would.
  enum class Parallel { Data, Layers };
  Parallel parallel = Parallel::Data;
};

// "data" or "layers" (--parallel); throws remedi::Error naming --parallel otherwise.
TrainRunOptions::Parallel parse_parallel(const std::string& text);

// The weight of the unmediated-target loss when --lam-u is not given (METHOD §7.6): 1, or none for
// the data sets whose samples have no unmediated target (biosbias, mcrae).
std::optional<double> default_unmediated_weight(const std::string& dataset);

// Throws remedi::Error naming the flag for an option out of range or an unknown editor type (what
// can be checked before the model and the data are loaded).
void check_train_run_options(const TrainRunOptions& options);

// The training and validation rows: the selected rows of options.data (with attribute_no_entity
// applied, cut to train_size), split by data::hold_out_split(hold_out, seed). Throws remedi::Error
// naming --dataset when fewer than 2 rows are selected.
struct TrainSamples {
  std::vector<data::MediationSample> train;
  std::vector<data::MediationSample> validation;
};
TrainSamples select_train_samples(const TrainRunOptions& options);

// What happens during a run, for a progress display.
struct TrainRunEvent {
  enum class Kind {
    Started,  // the options and layers are checked and the args file written; the editors follow
    Skipped,  // an editor already saved, left alone (resume)
    Epoch,    // an editor finished an epoch (`epoch`; 0 is the measuring epoch)
    Saved,    // an editor was saved to `folder`
  };
  Kind kind = Kind::Saved;
  std::string type;
  std::int64_t layer = 0;
  std::int64_t epoch = 0;
  std::string folder;
};
using TrainRunProgress = std::function<void(const TrainRunEvent&)>;

struct TrainedEditor {
  std::string type;
  std::int64_t layer = 0;
  std::string folder;                 // <experiment>/<type>/<layer>
  bool skipped = false;               // already saved (resume): nothing was done
  std::optional<TrainReport> report;  // editors trained by gradient descent (not fitted or parameter-free)
};

struct TrainRunResult {
  std::string experiment;  // <results>/<name>
  std::size_t train_samples = 0;
  std::size_t validation_samples = 0;
  std::vector<TrainedEditor> editors;  // types in the given order, each over the layers
};

// Data parallel: every rank precomputes only the editor inputs of its own rows. The result lists
// every editor on every rank (--parallel layers: gathered from the ranks that trained them).
//
// Trains (or fits, or builds) every editor of options.types at options.layers on `samples` and
// saves each to <experiment>/<type>/<layer>/ with {train_samples, validation_samples, args, report,
// train_samples_per_second} as its training record; writes the args file (evaluate::write_args_file)
// first. Throws remedi::Error naming --layers for a layer the model lacks (before anything is
// written), and the errors of check_train_run_options; an error about one of `samples` names
// options.data's file (the samples are taken to be select_train_samples(options)).
TrainRunResult train_editors(const lm::LoadedModel& model, const TrainRunOptions& options,
                             const TrainSamples& samples, const TrainRunProgress& progress = {});
// The same on select_train_samples(options).
TrainRunResult train_editors(const lm::LoadedModel& model, const TrainRunOptions& options,
                             const TrainRunProgress& progress = {});

// The args file's object: every option by its flag's name.
nlohmann::json train_run_args_json(const TrainRunOptions& options, const lm::LoadedModel& model);
// {best_epoch, best_validation_loss, stopped_early, epochs: [{epoch, train_loss, validation_loss,
// validation_terms, improved, seconds}]}.
nlohmann::json train_report_json(const TrainReport& report);
// What `remedi train` prints: {experiment, editors: [{type, layer, best_epoch, best_validation_loss,
// epochs}]} over the editors trained by gradient descent in this run.
nlohmann::json train_run_summary_json(const TrainRunResult& result);

}  // namespace remedi
