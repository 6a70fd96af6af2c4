// The direction dump of METHOD §8.13 (`remedi generate-directions`), for norm analyses and PCA plots.
// For each editor layer l and every selected sample: the editor's direction, the attribute
// representation it was computed from (the mean of the context's attribute tokens after block l), and
// the hidden state of the prompt's last entity token after every block, unedited and with the
// direction added at the entity as the evaluations add it (alpha = beta = 1).
//
// Files under <results>/<name>/<type>/<l>/ (docs/FORMATS.md; the original's dump.pth is a Python
// pickle, docs/DEVIATIONS.md):
//   dump.safetensors  float32 directions (N, H), attributes (N, H), h_entity_pre (N, L, H),
//                     h_entity_post (N, L, H), L = the model's blocks (block outputs before the final norm)
//   dump.json         {format: "remedi-directions", version: 1, type, layer, dataset, rows, model,
//                     hidden_states, tensors: shapes, samples: [{id, entity, prompt, context, attribute}]}
// Both are written atomically, the sidecar last, so a folder with dump.json is complete.
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/sample.h"
#include "evaluate/setup.h"
#include "lm/loaded_model.h"

namespace remedi {
class Editor;
}

namespace remedi::evaluate {

struct DirectionsOptions : EvalOptions {
  // data.split empty: rows [5000, 5000 + size) (METHOD §8.13), or [5000, 6000) with `small`.
  DirectionsOptions() { data.split.clear(); }
  std::int64_t size = 1000;
};

// The rows `options` select, in the data sets' split syntax: data.split, else "train[5000:6000]" with
// `small`, else "train[5000:<5000 + size>]".
std::string directions_rows(const DirectionsOptions& options);

// One editor's dump (float32, CPU).
struct DirectionDump {
  torch::Tensor directions;     // (N, H)
  torch::Tensor attributes;     // (N, H)
  torch::Tensor h_entity_pre;   // (N, L, H)
  torch::Tensor h_entity_post;  // (N, L, H)
};

// The dump of `editor` for `samples`, in batches of `batch_size` (a progress bar on stderr with
// `progress`). Throws remedi::Error naming the sample whose prompt lacks its entity or is longer than
// the model's context.
DirectionDump compute_direction_dump(const lm::LoadedModel& model, Editor& editor,
                                     const std::vector<data::MediationSample>& samples,
                                     std::int64_t batch_size, bool progress);

struct DirectionsResults {
  std::string experiment;  // <results>/<name>
  std::string rows;        // directions_rows(options)
  std::size_t samples = 0;
  std::map<std::int64_t, std::string> dumps;  // editor layer -> its dump.safetensors

  // {experiment, type, samples, dumps: {"<layer>": path}}: what `remedi generate-directions` prints.
  nlohmann::json summary(const std::string& type) const;
};

// Dumps every editor of `options` (options.layers, else every saved layer) for the selected rows of
// options.data.dataset (options.attribute_no_entity applied), writing the files above. Throws
// remedi::Error naming --size (below 1), --batch-size, --rows or --size (no rows), --layers or
// --editors-dir; nothing is written before the input has been checked.
DirectionsResults generate_directions(const lm::LoadedModel& model, const DirectionsOptions& options);

}  // namespace remedi::evaluate
