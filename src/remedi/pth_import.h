// Import of editors saved by the original REMEDI (METHOD §6.5): <editors_dir>/<type>/<layer>/weights.pth,
// a torch.save'd state dict (zip archive: <name>/data.pkl + <name>/data/<key>). libtorch 1.13's own
// torch::pickle_load cannot read it (it fails on the OrderedDict's `_metadata`), so data.pkl goes
// through our data-only pickle reader in its torch mode (io/pickle.h): nothing is executed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "remedi/editor.h"

namespace remedi::lm {
class CausalLM;
}

namespace remedi {

// The tensors of a torch.save'd dict of tensors, as float32 CPU tensors, by key. Throws remedi::Error
// naming the file (and the key) when it is not such an archive or a tensor is malformed.
std::map<std::string, torch::Tensor> read_torch_state_dict(const std::string& path);

// An editor of `type` at `layer` for `model`, with the original's default options (as the original
// reloads them: no rank, attribute only, last entity token), holding the state of `pth`. The
// original random editor's H x H `variance` contributes its diagonal (METHOD Q13).
std::shared_ptr<Editor> import_pth_editor(const std::string& pth, const std::string& type, std::int64_t layer,
                                          const lm::CausalLM& model);

// One editor of the original's editors folder: <folder>/<type>/<layer>/weights.pth.
struct PthEditorFile {
  std::string type;
  std::int64_t layer = 0;
  std::string path;
};

// Every <type>/<layer>/weights.pth below `folder` (layer a decimal number), sorted by type then
// layer. Throws remedi::Error naming the folder when it is not one or holds none.
std::vector<PthEditorFile> find_pth_editors(const std::string& folder);

// Converts every file into a remedi editor folder <output_dir>/<type>/<layer>/ for `model`
// (editor_file.h), its training record {"imported_from": absolute path}; converts all before
// writing any, so that a bad file leaves nothing behind. Returns the folders written, in order.
std::vector<std::string> import_pth_editors(const std::vector<PthEditorFile>& files,
                                            const std::string& output_dir, const lm::CausalLM& model);

}  // namespace remedi
