// A causal LM with its tokenizer, loaded together and checked against each other: what every
// operation on a model (tokenize, forward, edit, generate, train, evaluate) takes.
#pragma once

#include <memory>
#include <string>

#include "lm/model.h"
#include "tok/tokenizer.h"

namespace remedi::lm {

struct LoadedModel {
  std::string path;  // the resolved file or folder
  std::shared_ptr<const CausalLM> model;
  std::shared_ptr<const tok::Tokenizer> tokenizer;

  const CausalLM& lm() const { return *model; }
  const tok::Tokenizer& tok() const { return *tokenizer; }
};

// `name_or_path`: a short name (smollm2, gpt2, gpt2-xl, gptj, neox; lm/model_path.h) or a path (an
// HF folder or a .gguf file). Throws remedi::Error naming the path when the model or the tokenizer
// cannot be read, or when the tokenizer has ids the model has no embedding for (a tokenizer that is
// not the model's).
LoadedModel load_model(const std::string& name_or_path, const LoadOptions& options = {});

}  // namespace remedi::lm
