// `remedi import-editors SRC -o DEST`: converts editors trained by the original REMEDI
// (SRC/<type>/<layer>/weights.pth, METHOD §6.5) into remedi editor folders (DEST/<type>/<layer>/) for
// the given model (remedi/pth_import.h), so that `remedi edit` and `remedi eval fact-gen -e DEST` use
// them.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/pth_import.h"

namespace remedi::cli {

namespace {

struct ImportArgs {
  std::string source;
  std::string output;
  std::string model = "smollm2";
};

void run(const ImportArgs& a) {
  const std::vector<PthEditorFile> files = find_pth_editors(a.source);
  const std::unique_ptr<lm::CausalLM> model = lm::CausalLM::load(lm::resolve_model_path(a.model));
  const std::vector<std::string> folders = import_pth_editors(files, a.output, *model);
  nlohmann::json imported = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    imported.push_back({{"type", files[i].type}, {"layer", files[i].layer}, {"folder", folders[i]}});
  }
  std::cout << nlohmann::json({{"imported", imported}}).dump(2) << "\n";
}

}  // namespace

void register_import_editors(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand(
      "import-editors",
      "Convert the original REMEDI's <type>/<layer>/weights.pth editors into remedi editors");
  cmd->add_option("source", a->source, "The original's editors folder (<type>/<layer>/weights.pth)")
      ->required();
  cmd->add_option("-o,--output", a->output, "Editors folder to write (<type>/<layer>/editor.*)")->required();
  cmd->add_option("-m,--model", a->model,
                  "The model the editors were trained on (smollm2, gpt2, ... or a path)")
      ->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace remedi::cli
