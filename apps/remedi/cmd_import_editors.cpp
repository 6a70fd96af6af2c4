// `remedi import-editors SRC -o DEST`: converts editors trained by the original REMEDI
// (SRC/<type>/<layer>/weights.pth, METHOD §6.5) into remedi editor folders (DEST/<type>/<layer>/) for
// the given model, so that `remedi edit` and `remedi eval-fact-gen -e DEST` use them.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "commands.h"
#include "lm/model.h"
#include "lm/model_path.h"
#include "remedi/editor_file.h"
#include "remedi/pth_import.h"
#include "util/error.h"

namespace remedi::cli {

namespace {

struct ImportArgs {
  std::string source;
  std::string output;
  std::string model = "smollm2";
};

bool is_number(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void run(const ImportArgs& a) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(a.source)) throw Error(a.source, "", "not a folder");
  struct Found {
    std::string type;
    std::int64_t layer;
    std::string path;
  };
  std::vector<Found> found;
  for (const auto& type_dir : fs::directory_iterator(a.source)) {
    if (!type_dir.is_directory()) continue;
    for (const auto& layer_dir : fs::directory_iterator(type_dir.path())) {
      const fs::path weights = layer_dir.path() / "weights.pth";
      if (is_number(layer_dir.path().filename().string()) && fs::exists(weights)) {
        found.push_back({type_dir.path().filename().string(),
                         std::stoll(layer_dir.path().filename().string()), weights.string()});
      }
    }
  }
  if (found.empty()) throw Error(a.source, "", "no <type>/<layer>/weights.pth below this folder");
  std::sort(found.begin(), found.end(), [](const Found& x, const Found& y) {
    return std::tie(x.type, x.layer) < std::tie(y.type, y.layer);
  });
  const std::unique_ptr<lm::CausalLM> model = lm::CausalLM::load(lm::resolve_model_path(a.model));
  // Convert all before writing any, so that a bad file leaves nothing behind.
  std::vector<std::shared_ptr<Editor>> editors;
  for (const Found& f : found) editors.push_back(import_pth_editor(f.path, f.type, f.layer, *model));
  nlohmann::json imported = nlohmann::json::array();
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::string folder = editor_folder(a.output, found[i].type, found[i].layer);
    save_editor(*editors[i], folder, *model, {{"imported_from", fs::absolute(found[i].path).string()}});
    imported.push_back({{"type", found[i].type}, {"layer", found[i].layer}, {"folder", folder}});
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
