// `remedi tokenize` through the real CLI binary: the table for the default GGUF, --json for an HF
// folder against the HF-produced fixture, and exit code 2 with one error line for bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "test_support.h"

namespace remedi {
namespace {

TEST(TokenizeCli, TableForTheDefaultModel) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const auto result = test::run_remedi({"tokenize", "--model", path, "<|im_start|>Hi \xF0\x9F\x98\x80\tx"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Ids and spans as HF tokenizers gives them for the rebuilt SmolLM2 tokenizer.
  for (const char* line :
       {"    0        1  [0, 12)      \"<|im_start|>\"  (special)\n", "    1    26843  [12, 14)     \"Hi\"\n",
        "    2    40303  [14, 16)     \" \\xF0\\x9F\\x98\"\n", "    3      218  [15, 16)     \"\\x80\"\n",
        "    4      197  [16, 17)     \"\\t\"\n", "6 tokens, 18 characters\n"}) {
    EXPECT_NE(result.out.find(line), std::string::npos) << line << "\n" << result.out;
  }
}

TEST(TokenizeCli, JsonForAnHfFolderMatchesTheFixture) {
  nlohmann::json expected;
  std::ifstream in(test::fixture("tok/tiny_expected.jsonl"));
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record["v"] == "gpt2" && record["t"] == "a  <sep>  <sep>  b") expected = record;
  }
  ASSERT_FALSE(expected.is_null());
  const auto result = test::run_remedi(
      {"tokenize", "--model", test::fixture("tok/tiny_gpt2"), "--json", "a  <sep>  <sep>  b"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["ids"], expected["i"]);
  std::vector<std::int64_t> flat;
  for (const auto& pair : json["offsets"]) {
    flat.push_back(pair[0]);
    flat.push_back(pair[1]);
  }
  EXPECT_EQ(nlohmann::json(flat), expected["o"]);
  EXPECT_EQ(json["count"], expected["i"].size());
  EXPECT_EQ(json["tokens"][0], "a");
}

TEST(TokenizeCli, BadInputExitsWithCodeTwoAndOneLine) {
  const auto missing = test::run_remedi({"tokenize", "--model", "/no/such/tokenizer.json", "x"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "remedi: error: /no/such/tokenizer.json: cannot open\n");
  const auto no_model = test::run_remedi({"tokenize", "x"});
  EXPECT_EQ(no_model.exit_code, 2);
}

}  // namespace
}  // namespace remedi
