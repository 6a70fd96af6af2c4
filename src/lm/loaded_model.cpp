#include "lm/loaded_model.h"

#include "lm/model_path.h"
#include "util/error.h"

namespace remedi::lm {

LoadedModel load_model(const std::string& name_or_path, const LoadOptions& options) {
  LoadedModel loaded;
  loaded.path = resolve_model_path(name_or_path);
  loaded.tokenizer = std::make_shared<const tok::Tokenizer>(tok::Tokenizer::load(loaded.path));
  loaded.model = CausalLM::load(loaded.path, options);
  const std::int64_t tokens = loaded.tokenizer->vocab_size();
  const std::int64_t rows = loaded.model->config().vocab_size;
  if (tokens > rows) {
    throw Error(loaded.path, "tokenizer",
                "has " + std::to_string(tokens) + " token ids but the model embeds only " +
                    std::to_string(rows) + " (is the tokenizer the model's?)");
  }
  return loaded;
}

}  // namespace remedi::lm
