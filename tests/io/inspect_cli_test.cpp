// `remedi inspect` through the real CLI binary: the numbers for the default SmolLM2 GGUF, an HF
// folder, the --json / --tensors outputs, and exit code 2 with one error line for bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_support.h"

namespace remedi {
namespace {

namespace fs = std::filesystem;

TEST(InspectCli, DefaultModelText) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const auto result = test::run_remedi({"inspect", path});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* line :
       {"architecture    llama\n", "layers          30\n", "hidden size     576\n", "heads           9\n",
        "kv heads        3\n", "head dim        64\n", "intermediate    1536\n", "vocab           49152\n",
        "context length  8192\n", "rope theta      100000\n", "tied head       yes\n",
        "tensors         272 (F32 61, Q4_1 210, Q8_0 1)\n", "parameters      134515008 (134.5 M)\n",
        "format          GGUF v3\n"}) {
    EXPECT_NE(result.out.find(line), std::string::npos) << line << "\n" << result.out;
  }
}

TEST(InspectCli, DefaultModelJsonAndTensors) {
  const std::string path = test::default_model_path();
  if (path.empty()) GTEST_SKIP() << "default model not fetched (scripts/fetch-model.sh)";
  const auto result = test::run_remedi({"inspect", path, "--json", "--tensors"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["architecture"], "llama");
  EXPECT_EQ(json["n_layer"], 30);
  EXPECT_EQ(json["hidden_size"], 576);
  EXPECT_EQ(json["n_head"], 9);
  EXPECT_EQ(json["n_kv_head"], 3);
  EXPECT_EQ(json["head_dim"], 64);
  EXPECT_EQ(json["intermediate_size"], 1536);
  EXPECT_EQ(json["vocab_size"], 49152);
  EXPECT_EQ(json["context_length"], 8192);
  EXPECT_EQ(json["rope_theta"], 100000.0);
  EXPECT_EQ(json["tie_word_embeddings"], true);
  EXPECT_EQ(json["tensor_count"], 272);
  EXPECT_EQ(json["tensors_per_dtype"], (nlohmann::json{{"F32", 61}, {"Q4_1", 210}, {"Q8_0", 1}}));
  EXPECT_EQ(json["total_parameters"], 134515008);
  EXPECT_EQ(json["file_size_bytes"], fs::file_size(path));
  ASSERT_EQ(json["tensors"].size(), 272U);
  EXPECT_EQ(json["tensors"][0],
            (nlohmann::json{{"name", "token_embd.weight"}, {"dtype", "Q8_0"}, {"shape", {49152, 576}}}));
}

TEST(InspectCli, GgufTensorsAndMetadata) {
  const auto result =
      test::run_remedi({"inspect", test::fixture("io/tiny_gpt2.gguf"), "--tensors", "--metadata"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("architecture    gpt2\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("rope theta      -\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("tied head       no\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("  token_embd.weight  F32  [10, 8]\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("  output.weight  F32  [10, 8]\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("  gpt2.block_count = 2\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("  tokenizer.ggml.tokens = [\"t0\", \"t1\", \"t2\", \"t3\", \"t4\", \"t5\", "
                            "\"t6\", \"t7\", ... (10 items)]\n"),
            std::string::npos)
      << result.out;
}

// A GGUF file with a vocabulary and no tensors (as llama.cpp's ggml-vocab-*.gguf): what it holds,
// not "block_count: missing". The vocabulary's size is the tokens array's, as --metadata counts it.
TEST(InspectCli, VocabularyOnlyGguf) {
  const std::string path = test::fixture("tok_families/gemma.gguf");
  const auto text = test::run_remedi({"inspect", path, "--metadata"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("architecture    gemma\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("contents        vocabulary only (no tensors)\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("tokenizer       llama\n"), std::string::npos) << text.out;
  const std::size_t items = text.out.find(" items)]", text.out.find("tokenizer.ggml.tokens = "));
  ASSERT_NE(items, std::string::npos) << text.out;
  const std::size_t open = text.out.rfind('(', items);
  const std::string count = text.out.substr(open + 1, items - open - 1);
  EXPECT_NE(text.out.find("vocab           " + count + "\n"), std::string::npos) << count << "\n" << text.out;
  const auto json_result = test::run_remedi({"inspect", path, "--json"});
  ASSERT_EQ(json_result.exit_code, 0) << json_result.err;
  const auto json = nlohmann::json::parse(json_result.out);
  EXPECT_EQ(json["vocabulary_only"], true);
  EXPECT_EQ(json["tokenizer_model"], "llama");
  EXPECT_EQ(json["vocab_size"], std::stoll(count));
  EXPECT_EQ(json["tensor_count"], 0);
}

TEST(InspectCli, HuggingFaceFolder) {
  const std::string dir = test::temp_dir("inspect-hf");
  fs::copy_file(test::fixture("config/llama/config.json"), dir + "/config.json");
  const std::vector<float> embed(50 * 16, 0.5F);
  const std::vector<std::uint16_t> norm(16, 0x3F80);
  io::write_safetensors(
      dir + "/model.safetensors",
      {{"model.embed_tokens.weight", io::DType::F32, {50, 16}, std::as_bytes(std::span(embed))},
       {"model.norm.weight", io::DType::BF16, {16}, std::as_bytes(std::span(norm))}});
  const auto result = test::run_remedi({"inspect", dir, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["format"], "safetensors (1 file)");
  EXPECT_EQ(json["architecture"], "llama");
  EXPECT_EQ(json["n_kv_head"], 2);
  EXPECT_EQ(json["rope_theta"], 50000.0);
  EXPECT_EQ(json["tensor_count"], 2);
  EXPECT_EQ(json["tensors_per_dtype"], (nlohmann::json{{"BF16", 1}, {"F32", 1}}));
  EXPECT_EQ(json["total_parameters"], 50 * 16 + 16);
  EXPECT_EQ(json["file_size_bytes"], fs::file_size(dir + "/model.safetensors"));
  fs::remove_all(dir);
}

class InspectCliErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("inspect-errors"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Exit code 2 and exactly one line: "remedi: error: <message>".
  void expect_bad_input(const std::string& path, const std::string& message) {
    const auto result = test::run_remedi({"inspect", path});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "remedi: error: " + message + "\n");
  }

  std::string dir_;
};

TEST_F(InspectCliErrors, BadFilesExitWithCodeTwo) {
  const std::string junk = dir_ + "/junk.gguf";
  test::write_file(junk, "GGML but not really");
  expect_bad_input(junk, junk + ": magic: not a GGUF file (the first 4 bytes are not 'GGUF')");

  const std::string truncated = dir_ + "/truncated.gguf";
  test::write_file(truncated, test::read_file(test::fixture("io/quants.gguf")).substr(0, 4000));
  expect_bad_input(
      truncated,
      truncated + ": q5_k: 704 bytes at data offset 2240 run past the end of the data section (2720 bytes)");

  expect_bad_input(dir_ + "/absent.gguf", dir_ + "/absent.gguf: cannot open: No such file or directory");
  expect_bad_input(dir_ + "/absent", dir_ + "/absent: no such file or folder");
  const std::string text = dir_ + "/notes.txt";
  test::write_file(text, "hello");
  expect_bad_input(text, text + ": expected a .gguf file or a Hugging Face model folder");

  fs::create_directory(dir_ + "/hf");
  expect_bad_input(dir_ + "/hf", dir_ + "/hf/config.json: cannot open: No such file or directory");
  test::write_file(dir_ + "/hf/config.json", R"({"model_type": "gpt2", "n_head": 5})");
  expect_bad_input(dir_ + "/hf",
                   dir_ + "/hf/config.json: n_head: hidden size 768 is not divisible by 5 heads");
  test::write_file(dir_ + "/hf/config.json", R"({"model_type": "gpt2"})");
  test::write_file(dir_ + "/hf/model.safetensors", std::string("\x10\0\0\0\0\0\0\0{\"a\": 1}        ", 24));
  expect_bad_input(
      dir_ + "/hf",
      dir_ + "/hf/model.safetensors: a: entry must be an object with dtype, shape and data_offsets");
}

}  // namespace
}  // namespace remedi
