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

// A tokenizer that adds a BOS (the Llama-3-style fixture's TemplateProcessing): by default the tokens
// the model reads, as HF's tokenizer(text) gives them; --no-special-tokens the text's own.
TEST(TokenizeCli, ShowsTheSpecialTokensTheModelReadsUnlessAskedNotTo) {
  const std::string model = test::fixture("tok_families/llama3");
  const auto with = test::run_remedi({"tokenize", "--model", model, "--json", "Hello world"});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  const auto json = nlohmann::json::parse(with.out);
  // tests/fixtures/tok_families/special_expected.jsonl, llama3, string 5 (add_special_tokens=True)
  EXPECT_EQ(json["ids"], nlohmann::json::parse("[0, 41, 785, 80, 454, 274, 77, 69]"));
  EXPECT_EQ(json["offsets"][0], nlohmann::json::parse("[0, 0]"));
  EXPECT_EQ(json["offsets"][1], nlohmann::json::parse("[0, 1]"));
  const auto without =
      test::run_remedi({"tokenize", "--model", model, "--json", "--no-special-tokens", "Hello world"});
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(nlohmann::json::parse(without.out)["ids"],
            nlohmann::json::parse("[41, 785, 80, 454, 274, 77, 69]"));
  const auto table = test::run_remedi({"tokenize", "--model", model, "Hello world"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("    0        0  [0, 0)       "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("8 tokens, 11 characters\n"), std::string::npos) << table.out;
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
