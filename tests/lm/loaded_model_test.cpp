// lm::load_model (src/lm/loaded_model.h): a model folder with its tokenizer, and the check that every
// token id the tokenizer can produce has a row in the model's embedding (issue 23: an id beyond it
// crashed at the embedding with "index out of range in self").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/expect_error.h"
#include "lm/loaded_model.h"
#include "test_support.h"

namespace remedi::lm {
namespace {

namespace fs = std::filesystem;

// The tiny GPT-2 fixture (vocab_size 300) as an HF folder with the fixtures' tokenizer.json (ids 0-298, id 0
// an added token), and that tokenizer's JSON for the test to change.
nlohmann::json copy_tiny_gpt2(const std::string& dir) {
  for (const char* name : {"config.json", "model.safetensors"})
    fs::copy_file(test::fixture(std::string("lm/gpt2/") + name), dir + "/" + name);
  std::ifstream in(test::fixture("lm/tokenizer.json"));
  return nlohmann::json::parse(in);
}

void write_json(const std::string& path, const nlohmann::json& value) {
  std::ofstream out(path);
  out << value.dump();
}

TEST(LoadModel, ATokenizerWithinTheVocabularyLoads) {
  const std::string dir = test::temp_dir("loaded_model_ok");
  write_json(dir + "/tokenizer.json", copy_tiny_gpt2(dir));
  const LoadedModel loaded = load_model(dir);
  EXPECT_EQ(loaded.tok().vocab_size(), 299);  // one embedding row no token uses
  EXPECT_EQ(loaded.lm().config().vocab_size, 300);
  fs::remove_all(dir);
}

TEST(LoadModel, ATokenIdBeyondTheEmbeddingIsRefusedAtLoad) {
  const std::string dir = test::temp_dir("loaded_model_beyond");
  nlohmann::json tokenizer = copy_tiny_gpt2(dir);
  // An added token with id 300, one past the embedding's last row.
  tokenizer["added_tokens"].push_back({{"id", 300},
                                       {"content", "<|extra|>"},
                                       {"single_word", false},
                                       {"lstrip", false},
                                       {"rstrip", false},
                                       {"normalized", false},
                                       {"special", true}});
  write_json(dir + "/tokenizer.json", tokenizer);
  test::expect_error([&] { load_model(dir); }, dir, "tokenizer",
                     "has 301 token ids but the model embeds only 300 (is the tokenizer the model's?)");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace remedi::lm
