// A tiny random model from tests/fixtures/lm with a tokenizer that fits it (tests/fixtures/lm/
// tokenizer.json: 299 ids for the 300 embedding rows), for tests of model-level library functions
// (edits, evaluations) that need real text but not a trained model, so they run without SmolLM2.
#pragma once

#include <memory>
#include <string>

#include "lm/loaded_model.h"
#include "test_support.h"

namespace remedi::test {

// `family`: a folder of tests/fixtures/lm (gpt2, gptj, neox_parallel, neox_sequential, llama_gqa,
// llama_tied), loaded in float32 on the CPU.
inline lm::LoadedModel tiny_model(const std::string& family = "gpt2") {
  lm::LoadedModel loaded;
  loaded.path = fixture("lm/" + family);
  loaded.model = lm::CausalLM::load(loaded.path);
  loaded.tokenizer =
      std::make_shared<const tok::Tokenizer>(tok::Tokenizer::from_hf_json(fixture("lm/tokenizer.json")));
  return loaded;
}

}  // namespace remedi::test
