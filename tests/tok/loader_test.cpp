// Loaders: a GGUF tokenizer written field by field agrees with the same vocabulary loaded from
// tokenizer.json; malformed or unsupported files are refused with the file, field and reason.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/gguf.h"
#include "io/gguf_builder.h"
#include "test_support.h"
#include "tok/tokenizer.h"

namespace remedi::tok {
namespace {

using nlohmann::json;
using test::expect_error;

json tiny_gpt2_json() { return json::parse(test::read_file(test::fixture("tok/tiny_gpt2/tokenizer.json"))); }

std::string write_json(const json& document, const std::string& name = "tokenizer.json") {
  const std::string path = test::temp_dir("remedi-tok") + "/" + name;
  test::write_file(path, document.dump());
  return path;
}

// GGUF string array / int32 array values (type 9 = array, 8 = string, 5 = int32).
std::string string_array(const std::vector<std::string>& items) {
  std::string encoded =
      test::GgufBuilder::pod<std::uint32_t>(8) + test::GgufBuilder::pod<std::uint64_t>(items.size());
  for (const std::string& item : items) encoded += test::GgufBuilder::str(item);
  return encoded;
}
std::string int_array(const std::vector<std::int32_t>& items) {
  std::string encoded =
      test::GgufBuilder::pod<std::uint32_t>(5) + test::GgufBuilder::pod<std::uint64_t>(items.size());
  for (const std::int32_t item : items) encoded += test::GgufBuilder::pod(item);
  return encoded;
}
std::string float_array(const std::vector<float>& items) {  // type 6 = float32
  std::string encoded =
      test::GgufBuilder::pod<std::uint32_t>(6) + test::GgufBuilder::pod<std::uint64_t>(items.size());
  for (const float item : items) encoded += test::GgufBuilder::pod(item);
  return encoded;
}

struct GgufTokenizerFields {
  std::string model = "gpt2";
  std::string pre = "gpt-2";
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;
  std::uint32_t eos_id = 0;
};

// The vocabulary of a byte-level tokenizer.json as GGUF metadata; its first token is a control one.
GgufTokenizerFields fields_of(const json& document) {
  GgufTokenizerFields fields;
  const auto& vocab = document["model"]["vocab"];
  fields.tokens.resize(vocab.size());
  for (const auto& [token, id] : vocab.items()) fields.tokens.at(id.get<std::size_t>()) = token;
  fields.types.assign(fields.tokens.size(), 1);
  fields.types[0] = 3;  // <|endoftext|>: control
  for (const auto& merge : document["model"]["merges"]) {
    fields.merges.push_back(merge.is_string()
                                ? merge.get<std::string>()
                                : merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  }
  return fields;
}

// The tiny GPT-2-style vocabulary of the tokenizer.json fixture, as GGUF metadata.
GgufTokenizerFields tiny_gpt2_fields() { return fields_of(tiny_gpt2_json()); }

std::string write_gguf(const GgufTokenizerFields& fields) {
  test::GgufBuilder builder;
  builder.add_string("tokenizer.ggml.model", fields.model);
  builder.add_string("tokenizer.ggml.pre", fields.pre);
  builder.add_kv("tokenizer.ggml.tokens", 9, string_array(fields.tokens));
  builder.add_kv("tokenizer.ggml.token_type", 9, int_array(fields.types));
  builder.add_kv("tokenizer.ggml.merges", 9, string_array(fields.merges));
  builder.add_u32("tokenizer.ggml.eos_token_id", fields.eos_id);
  const std::string path = test::temp_dir("remedi-tok") + "/tokenizer.gguf";
  test::write_file(path, builder.build());
  return path;
}

TEST(GgufTokenizer, AgreesWithTheSameVocabularyFromTokenizerJson) {
  const Tokenizer from_json = Tokenizer::from_hf_json(test::fixture("tok/tiny_gpt2/tokenizer.json"));
  const std::string path = write_gguf(tiny_gpt2_fields());
  const Tokenizer from_gguf = Tokenizer::load(path);
  EXPECT_EQ(from_gguf.eos_id(), 0);
  EXPECT_EQ(from_gguf.bos_id(), -1);
  EXPECT_EQ(from_gguf.pad_id(), 0);
  EXPECT_TRUE(from_gguf.is_special(0));
  for (const std::string text : {"The batman is the night.", "Hello  world \n\n", "x<|endoftext|>y 123",
                                 "Caf\xC3\xA9 \xF0\x9F\x98\x80"}) {
    const Encoding expected = from_json.encode(text);
    const Encoding actual = from_gguf.encode(text);
    EXPECT_EQ(actual.ids, expected.ids) << text;
    EXPECT_EQ(actual.offsets, expected.offsets) << text;
  }
}

TEST(GgufTokenizer, Qwen2PreTokenizerSplitsLikeQwen2TokenizerJson) {
  // GGUF files carry no normalizer, so the strings are NFC already.
  const std::string json_path = test::fixture("tok_families/qwen2/tokenizer.json");
  const Tokenizer from_json = Tokenizer::from_hf_json(json_path);
  GgufTokenizerFields fields = fields_of(json::parse(test::read_file(json_path)));
  fields.pre = "qwen2";
  const Tokenizer from_gguf = Tokenizer::load(write_gguf(fields));
  for (const std::string text : {"In 2024, 1234567 people", "I'M HERE, YOU'RE THERE  \n\n x", "x\r\n\r\ny ",
                                 "\xE6\x97\xA5\xE6\x9C\xAC 42\xE2\x82\xAC", "don't  'LL\t\t!!"}) {
    const Encoding expected = from_json.encode(text);
    const Encoding actual = from_gguf.encode(text);
    EXPECT_EQ(actual.ids, expected.ids) << text;
    EXPECT_EQ(actual.offsets, expected.offsets) << text;
  }
}

// Llama-3's pre-tokenizer names turn on ignore_merges, as in llama.cpp and HF's Llama-3
// tokenizer.json: a pre-token that is a token (here one its merges cannot reach) stays whole.
TEST(GgufTokenizer, Llama3PreTokenizerIgnoresMergesLikeLlama3TokenizerJson) {
  json document = json::parse(test::read_file(test::fixture("tok_families/llama3/tokenizer.json")));
  ASSERT_TRUE(document["model"]["ignore_merges"].get<bool>());
  const std::int64_t zebras = static_cast<std::int64_t>(document["model"]["vocab"].size());
  document["model"]["vocab"]["\u0120Zebras"] = zebras;
  const Tokenizer from_json = Tokenizer::from_hf_json(write_json(document));
  GgufTokenizerFields fields = fields_of(document);
  fields.pre = "llama-bpe";
  for (const auto& token : document["added_tokens"]) fields.types.at(token["id"].get<std::size_t>()) = 3;
  const Tokenizer from_gguf = Tokenizer::load(write_gguf(fields));
  EXPECT_EQ(from_gguf.encode(" Zebras are").ids.front(), zebras);
  std::vector<std::string> texts = {" Zebras are", "Zebras Zebras", "<|eot_id|> Zebras"};
  const std::string strings = test::read_file(test::fixture("tok_families/strings.jsonl"));
  for (std::size_t pos = 0, end = 0; pos < strings.size(); pos = end + 1) {
    end = strings.find('\n', pos);
    texts.push_back(json::parse(strings.substr(pos, end - pos)).get<std::string>());
  }
  for (const std::string& text : texts) {
    const Encoding expected = from_json.encode(text);
    const Encoding actual = from_gguf.encode(text);
    EXPECT_EQ(actual.ids, expected.ids) << text;
    EXPECT_EQ(actual.offsets, expected.offsets) << text;
  }
}

// A SentencePiece vocabulary (tokenizer.ggml.model "llama") written field by field.
struct SentencePieceFields {
  std::vector<std::string> tokens = {"<unk>", "<0x41>", "\u2581", "a", "b", "ba", "ab", "\u2581a"};
  std::vector<float> scores = {0, 0, -8, -9, -10, -1, -1, -2};
  std::vector<std::int32_t> types = {2, 6, 1, 1, 1, 1, 1, 1};
  bool add_space_prefix = false;
};

std::string write_gguf(const SentencePieceFields& fields) {
  test::GgufBuilder builder;
  builder.add_string("tokenizer.ggml.model", "llama");
  builder.add_kv("tokenizer.ggml.tokens", 9, string_array(fields.tokens));
  builder.add_kv("tokenizer.ggml.scores", 9, float_array(fields.scores));
  builder.add_kv("tokenizer.ggml.token_type", 9, int_array(fields.types));
  builder.add_kv("tokenizer.ggml.add_space_prefix", 7, std::string(1, fields.add_space_prefix ? '\1' : '\0'));
  const std::string path = test::temp_dir("remedi-tok") + "/tokenizer.gguf";
  test::write_file(path, builder.build());
  return path;
}

TEST(GgufTokenizer, SentencePieceMergesTheBestScoredPairLeftmostFirst) {
  SentencePieceFields fields;
  // "ba" and "ab" score the same: the leftmost pair goes first (llama.cpp's order), whatever their
  // ids; "A" has no token and becomes its byte token.
  Tokenizer tokenizer = Tokenizer::load(write_gguf(fields));
  EXPECT_EQ(tokenizer.encode("aba").ids, (std::vector<std::int64_t>{6, 3}));
  EXPECT_EQ(tokenizer.encode("bab").ids, (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(tokenizer.encode("a bA").ids, (std::vector<std::int64_t>{3, 2, 4, 1}));
  EXPECT_EQ(tokenizer.encode("<unk>a").ids, (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(tokenizer.decode({3, 2, 4, 1}), "a bA");
  // A better score wins wherever it is.
  fields.scores[5] = -0.5F;
  tokenizer = Tokenizer::load(write_gguf(fields));
  EXPECT_EQ(tokenizer.encode("aba").ids, (std::vector<std::int64_t>{3, 5}));
  // add_space_prefix: a "▁" in front of the text, taken off again by decode.
  fields.add_space_prefix = true;
  fields.scores[7] = -0.2F;  // "▁a" now beats "ab"
  tokenizer = Tokenizer::load(write_gguf(fields));
  const Encoding encoding = tokenizer.encode("ab");
  EXPECT_EQ(encoding.ids, (std::vector<std::int64_t>{7, 4}));
  EXPECT_EQ(encoding.offsets, (std::vector<Offset>{{0, 1}, {1, 2}}));
  EXPECT_EQ(tokenizer.decode(encoding.ids), "ab");
}

TEST(GgufTokenizer, RefusesMalformedSentencePieceMetadata) {
  SentencePieceFields fields;
  fields.scores.pop_back();
  std::string path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.scores", "7 scores for 8 tokens");
  fields = SentencePieceFields();
  fields.types[3] = 6;
  path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.tokens[3]",
               "a byte token (token_type 6) must be spelled <0xNN>, not \"a\"");
  fields = SentencePieceFields();
  fields.types[4] = 9;
  path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.token_type[4]",
               "unknown token type 9 (llama.cpp's types are 0 to 6)");
  fields = SentencePieceFields();
  fields.scores[2] = std::numeric_limits<float>::quiet_NaN();
  path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.scores[2]", "not a number");
}

TEST(GgufTokenizer, RefusesWhatItCannotRepresent) {
  GgufTokenizerFields fields = tiny_gpt2_fields();
  fields.model = "bert";
  std::string path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.model",
               "unsupported tokenizer model \"bert\" (supported: \"gpt2\", byte-level BPE, and \"llama\", "
               "SentencePiece)");
  fields = tiny_gpt2_fields();
  fields.pre = "deepseek-llm";
  path = write_gguf(fields);
  expect_error(
      [&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.pre",
      "unsupported pre-tokenizer \"deepseek-llm\" (supported: default, gpt-2, smollm, llama-bpe, llama3, "
      "llama-v3, qwen2)");
  fields = tiny_gpt2_fields();
  fields.types.pop_back();
  path = write_gguf(fields);
  expect_error(
      [&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.token_type",
      std::to_string(fields.types.size()) + " types for " + std::to_string(fields.tokens.size()) + " tokens");
  fields = tiny_gpt2_fields();
  fields.eos_id = 1000000000;
  path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.eos_token_id",
               "token id 1000000000 is not among the " + std::to_string(fields.tokens.size()) + " tokens");
  fields = tiny_gpt2_fields();
  fields.merges[3] = "abc";
  path = write_gguf(fields);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.merges[3]",
               "expected two tokens separated by one space, got \"abc\"");
}

TEST(TokenizerLoad, AGgufFileThatIsNotOneIsNamedByItsMagic) {
  const std::string path = test::temp_dir("remedi-tok") + "/model.gguf";
  test::write_file(path, "{\"not\": \"gguf\"}");
  expect_error([&] { (void)Tokenizer::load(path); }, path, "magic",
               "not a GGUF file (the first 4 bytes are not 'GGUF')");
}

TEST(TokenizerJson, RefusesUnsupportedPipelines) {
  struct Case {
    std::string json_pointer;
    std::string value;  // JSON text
    std::string field;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"/model/type", R"("WordPiece")", "model.type", "only BPE models are supported, not \"WordPiece\""},
      {"/normalizer", R"({"type": "NFKC"})", "normalizer.type",
       "unsupported normalizer \"NFKC\" (supported: Sequence, NFC, Replace, Prepend)"},
      {"/normalizer", R"({"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"Regex": " +"},
           "content": " "}]})",
       "normalizer.normalizers[0].pattern", "only a literal {\"String\": ...} pattern is supported"},
      {"/normalizer", R"({"type": "Replace", "pattern": {"String": "M"}, "content": "m"})", "added_tokens[2]",
       "a normalized added token that the normalizer changes is not supported"},
      {"/model/byte_fallback", "true", "model.byte_fallback",
       "byte_fallback is not supported with a ByteLevel decoder"},
      {"/decoder", R"({"type": "Metaspace", "replacement": "\u2581"})", "decoder.type",
       "unsupported decoder \"Metaspace\" (supported: ByteLevel, or a Sequence of Replace, ByteFallback, "
       "Fuse, "
       "Strip)"},
      {"/decoder", R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"}]})", "pre_tokenizer",
       "a ByteLevel step needs a ByteLevel decoder"},
      {"/pre_tokenizer", R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first"})",
       "pre_tokenizer", "Metaspace needs a SentencePiece decoder"},
      {"/decoder", R"({"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "ByteFallback"}]})",
       "decoder.decoders[1]", "only Strip may follow Fuse"},
      {"/pre_tokenizer", R"({"type": "Whitespace"})", "pre_tokenizer.type",
       "unsupported pre-tokenizer \"Whitespace\" (supported: Sequence, Split, Digits, ByteLevel)"},
      {"/pre_tokenizer",
       R"({"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "Digits", "individual_digits": true}]})",
       "pre_tokenizer.pretokenizers[1]", "a Digits step after ByteLevel is not supported"},
      {"/pre_tokenizer", R"({"type": "Digits"})", "pre_tokenizer",
       "a byte-level BPE needs a ByteLevel pre-tokenizer step"},
      {"/pre_tokenizer/add_prefix_space", "true", "pre_tokenizer.add_prefix_space",
       "add_prefix_space=true is not supported"},
      {"/pre_tokenizer",
       R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s"}, "behavior": "Sideways"},
           {"type": "ByteLevel"}]})",
       "pre_tokenizer.pretokenizers[0].behavior", "unknown split behavior \"Sideways\""},
      {"/pre_tokenizer",
       R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(unclosed"},
           "behavior": "Isolated"}, {"type": "ByteLevel"}]})",
       "pre_tokenizer.pretokenizers[0].pattern",
       "regular expression does not compile at offset 9: missing closing parenthesis"},
      {"/post_processor", R"({"type": "BertProcessing"})", "post_processor.type",
       "unsupported post-processor \"BertProcessing\""},
      {"/decoder", "null", "decoder", "missing or not an object"},
      {"/added_tokens/0/single_word", "true", "added_tokens[0].single_word",
       "single_word added tokens are not supported"},
      {"/model/dropout", "0.1", "model.dropout", "BPE dropout is not supported"},
      {"/model/merges/2", R"("\u0120 nosuchtoken")", "model.merges[2]",
       "\"\xC4\xA0 nosuchtoken\" names a token that is not in the vocabulary"},
      {"/model/merges/2", R"("a  b")", "model.merges[2]",
       "expected two tokens separated by one space, got \"a  b\""},
      {"/model/unk_token", R"("<nope>")", "model.unk_token", "not in the vocabulary"},
  };
  for (const Case& c : cases) {
    json document = tiny_gpt2_json();
    document[json::json_pointer(c.json_pointer)] = json::parse(c.value);
    const std::string path = write_json(document);
    expect_error([&] { (void)Tokenizer::from_hf_json(path); }, path, c.field, c.reason);
  }
}

TEST(TokenizerJson, RefusesMalformedFiles) {
  const std::string dir = test::temp_dir("remedi-tok");
  test::write_file(dir + "/tokenizer.json", "{\"model\": ");
  try {
    (void)Tokenizer::load(dir);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), dir + "/tokenizer.json");
    EXPECT_EQ(e.reason().rfind("not valid JSON", 0), 0U) << e.reason();
  }
  const std::string empty = test::temp_dir("remedi-tok");
  expect_error([&] { (void)Tokenizer::load(empty); }, empty, "",
               "folder holds neither tokenizer.json nor vocab.json + merges.txt");
  expect_error([&] { (void)Tokenizer::load(empty + "/missing.json"); }, empty + "/missing.json", "",
               "cannot open");
  test::write_file(empty + "/vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
  test::write_file(empty + "/merges.txt", "#version: 0.2\na b\nb\n");
  expect_error([&] { (void)Tokenizer::load(empty); }, empty + "/merges.txt", "line 3",
               "expected two tokens separated by one space, got \"b\"");
}

TEST(TokenizerJson, MergeResultMustBeInTheVocabulary) {
  const std::string dir = test::temp_dir("remedi-tok");
  test::write_file(dir + "/vocab.json", "{\"a\": 0, \"b\": 1}");
  test::write_file(dir + "/merges.txt", "#version: 0.2\na b\n");
  expect_error([&] { (void)Tokenizer::load(dir); }, dir + "/merges.txt", "merges[0]",
               "the merge result \"ab\" is not in the vocabulary");
}

}  // namespace
}  // namespace remedi::tok
