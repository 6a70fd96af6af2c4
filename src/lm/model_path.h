// Short model names (`smollm2`, `gpt2`, `gpt2-xl`, `gptj`, `neox`) and where they live.
#pragma once

#include <string>

namespace remedi::lm {

// $REMEDI_HOME, default ~/.cache/remedi.
std::string remedi_home();

// `smollm2` -> $REMEDI_HOME/SmolLM2-135M-Instruct.Q4_1.gguf (fetched by scripts/fetch-model.sh);
// gpt2, gpt2-xl, gptj, neox -> $REMEDI_HOME/models/<name> (an HF folder the user puts there);
// anything else is taken as a path (a folder without config.json holding model.gguf, as
// `remedi random-init-model` writes for a GGUF source, means that file). Throws remedi::Error naming
// `--model` when nothing exists there,
// saying what to put where.
std::string resolve_model_path(const std::string& name_or_path);

}  // namespace remedi::lm
