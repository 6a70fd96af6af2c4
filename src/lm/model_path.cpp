#include "lm/model_path.h"

#include <array>
#include <cstdlib>
#include <filesystem>

#include "util/error.h"

namespace remedi::lm {

std::string remedi_home() {
  if (const char* env = std::getenv("REMEDI_HOME"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/remedi";
}

std::string resolve_model_path(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  if (name_or_path == "smollm2") {
    const std::string path = remedi_home() + "/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!fs::exists(path)) {
      throw Error("<argument>", "--model",
                  "smollm2 is not fetched yet: run scripts/fetch-model.sh (expected " + path + ")");
    }
    return path;
  }
  constexpr std::array<const char*, 4> kFolderNames{"gpt2", "gpt2-xl", "gptj", "neox"};
  for (const char* name : kFolderNames) {
    if (name_or_path == name && !fs::exists(name_or_path)) {
      const std::string path = remedi_home() + "/models/" + name;
      if (!fs::exists(path + "/config.json")) {
        throw Error("<argument>", "--model",
                    std::string(name) +
                        " needs an HF checkpoint folder (config.json, *.safetensors, tokenizer.json) at " +
                        path);
      }
      return path;
    }
  }
  if (!fs::exists(name_or_path)) {
    throw Error(name_or_path, "--model",
                "no such file or folder (give a .gguf file, an HF folder, or smollm2)");
  }
  // `remedi random-init-model` writes the copy of a GGUF model as <folder>/model.gguf: a folder
  // without config.json but with that file names it.
  const fs::path folder(name_or_path);
  if (fs::is_directory(folder) && !fs::exists(folder / "config.json") && fs::exists(folder / "model.gguf"))
    return (folder / "model.gguf").string();
  return name_or_path;
}

}  // namespace remedi::lm
