// The special tokens a tokenizer adds around a model's input (issue 21): tokenizer.json's
// TemplateProcessing against HF `tokenizers` with add_special_tokens=True
// (tests/reference/make_family_tokenizer_fixtures.py, special_expected.jsonl), GGUF
// tokenizer.ggml.add_bos_token / add_eos_token with llama.cpp's defaults, malformed templates refused,
// and token spans that never start at the added BOS.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "io/expect_error.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "test_support.h"
#include "tok/spans.h"
#include "tok/tokenizer.h"

namespace remedi::tok {
namespace {

using nlohmann::json;
using test::expect_error;

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(test::read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SpecialTokens, MatchHuggingFaceWithAddSpecialTokens) {
  const std::vector<std::string> texts = lines_of(test::fixture("tok_families/strings.jsonl"));
  const std::vector<std::string> lines = lines_of(test::fixture("tok_families/special_expected.jsonl"));
  ASSERT_EQ(lines.size(), 150U);  // gemma, llama3 and metaspace_split on 50 strings each
  std::map<std::string, std::unique_ptr<Tokenizer>> tokenizers;
  for (const std::string& line : lines) {
    const json record = json::parse(line);
    const std::string style = record.at("s").get<std::string>();
    auto& tokenizer = tokenizers[style];
    if (!tokenizer)
      tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(test::fixture("tok_families/" + style)));
    const auto k = record.at("k").get<std::size_t>();
    const std::string text = json::parse(texts.at(k)).get<std::string>();
    std::vector<Offset> offsets;
    for (const json& pair : record.at("o"))
      offsets.push_back({pair.at(0).get<std::int64_t>(), pair.at(1).get<std::int64_t>()});
    const Encoding with = tokenizer->encode(text, true);
    EXPECT_EQ(with.ids, record.at("i").get<std::vector<std::int64_t>>()) << style << " string " << k;
    EXPECT_EQ(with.offsets, offsets) << style << " string " << k;
    // Without specials: the plain encoding, which the *_expected.jsonl files check against HF.
    const Encoding plain = tokenizer->encode(text);
    const Encoding without = tokenizer->encode(text, false);
    EXPECT_EQ(without.ids, plain.ids);
    EXPECT_EQ(without.offsets, plain.offsets);
    std::vector<std::int64_t> around = tokenizer->special_prefix();
    around.insert(around.end(), plain.ids.begin(), plain.ids.end());
    around.insert(around.end(), tokenizer->special_suffix().begin(), tokenizer->special_suffix().end());
    EXPECT_EQ(with.ids, around);
  }
  EXPECT_EQ(tokenizers.size(), 3U);
}

TEST(SpecialTokens, WhatEachFileAdds) {
  const auto added = [](const std::string& fixture) {
    const Tokenizer tokenizer = Tokenizer::load(test::fixture(fixture));
    return std::make_pair(tokenizer.special_prefix(), tokenizer.special_suffix());
  };
  using Ids = std::vector<std::int64_t>;
  EXPECT_EQ(added("tok_families/gemma"), std::make_pair(Ids{2}, Ids{}));             // "<bos> $A"
  EXPECT_EQ(added("tok_families/llama3"), std::make_pair(Ids{0}, Ids{}));            // in a Sequence
  EXPECT_EQ(added("tok_families/metaspace_split"), std::make_pair(Ids{2}, Ids{1}));  // "<bos> $A <eos>"
  EXPECT_EQ(added("tok/tiny_llama3"), std::make_pair(Ids{0}, Ids{}));
  // No TemplateProcessing: nothing (GPT-2, NeoX, Qwen2 and SmolLM2 files).
  for (const std::string fixture :
       {"tok_families/qwen2", "tok_families/neox", "tok_families/spm", "tok/tiny_gpt2"}) {
    EXPECT_EQ(added(fixture), std::make_pair(Ids{}, Ids{})) << fixture;
  }
}

TEST(SpecialTokens, AnEmptyTextIsTheAddedTokensAlone) {
  const Tokenizer tokenizer = Tokenizer::load(test::fixture("tok_families/metaspace_split"));
  const Encoding encoding = tokenizer.encode("", true);
  EXPECT_EQ(encoding.ids, (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(encoding.offsets, (std::vector<Offset>{{0, 0}, {0, 0}}));
  EXPECT_TRUE(tokenizer.encode("").ids.empty());
}

// The gemma fixture's tokenizer.json with its post-processor replaced.
std::string with_post_processor(const json& post_processor) {
  json document = json::parse(test::read_file(test::fixture("tok_families/gemma/tokenizer.json")));
  document["post_processor"] = post_processor;
  const std::string path = test::temp_dir("remedi-tok-specials") + "/tokenizer.json";
  test::write_file(path, document.dump());
  return path;
}

json gemma_template() {
  return json::parse(R"({"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [], "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}})");
}

TEST(SpecialTokens, MalformedTemplatesAreRefusedNamingTheField) {
  struct Case {
    std::string pointer;  // into the template
    json value;
    std::string field;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"/single", "<bos> $A", "post_processor.single", "expected an array of pieces"},
      {"/single/1", json::parse(R"({"Sequence": {"id": "B", "type_id": 0}})"),
       "post_processor.single[1].Sequence.id", "expected \"A\" (the single template's one text)"},
      {"/single/1", json::parse(R"({"Text": "x"})"), "post_processor.single[1]",
       "expected {\"SpecialToken\": {...}} or {\"Sequence\": {...}}"},
      {"/single/0/SpecialToken/id", "<nope>", "post_processor.single[0].SpecialToken.id",
       "\"<nope>\" is not in post_processor.special_tokens"},
      {"/single/0/SpecialToken/id", 2, "post_processor.single[0].SpecialToken.id", "expected a string"},
      {"/single/2", json::parse(R"({"Sequence": {"id": "A", "type_id": 0}})"), "post_processor.single[2]",
       "a second Sequence piece in the single template"},
      {"/single/1", json::parse(R"({"SpecialToken": {"id": "<bos>", "type_id": 0}})"),
       "post_processor.single", "no {\"Sequence\": {\"id\": \"A\"}} piece"},
      {"/special_tokens", json::array(), "post_processor.special_tokens",
       "expected an object of name -> {\"ids\": [...], ...}"},
      {"/special_tokens/<bos>/ids", json::parse(R"(["2"])"), "post_processor.special_tokens.<bos>.ids",
       "expected an array of token ids"},
      {"/special_tokens/<bos>/ids", json::parse("[99999]"), "post_processor.single",
       "token id 99999 is not a token of this vocabulary"},
  };
  for (const Case& c : cases) {
    json processor = gemma_template();
    processor[json::json_pointer(c.pointer)] = c.value;
    const std::string path = with_post_processor(processor);
    SCOPED_TRACE(c.pointer);
    expect_error([&] { (void)Tokenizer::load(path); }, path, c.field, c.reason);
  }
  const std::string two = with_post_processor(
      json{{"type", "Sequence"}, {"processors", json::array({gemma_template(), gemma_template()})}});
  expect_error([&] { (void)Tokenizer::load(two); }, two, "post_processor.processors[1]",
               "a second TemplateProcessing is not supported");
}

// The llama3 fixture's byte-level vocabulary as GGUF metadata, with `pre` and the add_* keys given.
std::string write_llama3_gguf(const std::string& pre, std::optional<bool> add_bos,
                              std::optional<bool> add_eos, bool with_bos_id = true) {
  using Type = io::GgufValue::Type;
  const json document = json::parse(test::read_file(test::fixture("tok_families/llama3/tokenizer.json")));
  std::vector<std::string> tokens(document["model"]["vocab"].size());
  for (const auto& [token, id] : document["model"]["vocab"].items()) tokens.at(id.get<std::size_t>()) = token;
  const auto strings = [](const std::vector<std::string>& items) {
    auto array = std::make_shared<io::GgufArray>();
    for (const std::string& item : items) array->push_back({Type::STRING, item, Type::U8});
    return io::GgufValue{Type::ARRAY, array, Type::STRING};
  };
  std::vector<std::string> merges;
  for (const json& merge : document["model"]["merges"]) {
    merges.push_back(merge.is_string() ? merge.get<std::string>()
                                       : merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  }
  auto types = std::make_shared<io::GgufArray>();
  for (std::size_t id = 0; id < tokens.size(); ++id) {
    types->push_back({Type::I32, std::int64_t{id < 2 ? 3 : 1}, Type::U8});  // the two specials: control
  }
  io::GgufMetadata metadata = {
      {"tokenizer.ggml.model", {Type::STRING, std::string("gpt2"), Type::U8}},
      {"tokenizer.ggml.pre", {Type::STRING, pre, Type::U8}},
      {"tokenizer.ggml.tokens", strings(tokens)},
      {"tokenizer.ggml.token_type", {Type::ARRAY, types, Type::I32}},
      {"tokenizer.ggml.merges", strings(merges)},
      {"tokenizer.ggml.eos_token_id", {Type::U32, std::uint64_t{1}, Type::U8}},
  };
  if (with_bos_id)
    metadata.push_back({"tokenizer.ggml.bos_token_id", {Type::U32, std::uint64_t{0}, Type::U8}});
  if (add_bos) metadata.push_back({"tokenizer.ggml.add_bos_token", {Type::BOOL, *add_bos, Type::U8}});
  if (add_eos) metadata.push_back({"tokenizer.ggml.add_eos_token", {Type::BOOL, *add_eos, Type::U8}});
  const std::string path = test::temp_dir("remedi-tok-specials") + "/tokenizer.gguf";
  io::write_gguf(path, metadata, {});
  return path;
}

TEST(SpecialTokens, GgufAddBosAndEosWithLlamaCppDefaults) {
  using Ids = std::vector<std::int64_t>;
  const auto added = [](const std::string& path) {
    const Tokenizer tokenizer = Tokenizer::load(path);
    return std::make_pair(tokenizer.special_prefix(), tokenizer.special_suffix());
  };
  // Absent: llama.cpp adds a BOS for Llama-3-style vocabularies only.
  for (const std::string pre : {"llama-bpe", "llama3", "llama-v3"}) {
    EXPECT_EQ(added(write_llama3_gguf(pre, {}, {})), std::make_pair(Ids{0}, Ids{})) << pre;
  }
  for (const std::string pre : {"gpt-2", "default", "smollm", "qwen2"}) {
    EXPECT_EQ(added(write_llama3_gguf(pre, {}, {})), std::make_pair(Ids{}, Ids{})) << pre;
  }
  // Present: the keys decide (SmolLM2's file says false).
  EXPECT_EQ(added(write_llama3_gguf("llama-bpe", false, {})), std::make_pair(Ids{}, Ids{}));
  EXPECT_EQ(added(write_llama3_gguf("gpt-2", true, {})), std::make_pair(Ids{0}, Ids{}));
  EXPECT_EQ(added(write_llama3_gguf("gpt-2", true, true)), std::make_pair(Ids{0}, Ids{1}));
  EXPECT_EQ(added(write_llama3_gguf("llama-bpe", false, true)), std::make_pair(Ids{}, Ids{1}));
  // A default without a BOS id adds nothing; a key saying true without one is refused.
  EXPECT_EQ(added(write_llama3_gguf("llama-bpe", {}, {}, false)), std::make_pair(Ids{}, Ids{}));
  const std::string path = write_llama3_gguf("gpt-2", true, {}, false);
  expect_error([&] { (void)Tokenizer::load(path); }, path, "tokenizer.ggml.add_bos_token",
               "true, but tokenizer.ggml.bos_token_id is absent");
}

// A SentencePiece GGUF vocabulary without tokenizer.ggml.bos_token_id / eos_token_id (older llama.cpp
// conversions): llama.cpp takes <s> = 1 and </s> = 2 and adds the BOS; so does remedi. With the keys,
// the keys decide.
TEST(SpecialTokens, SentencePieceGgufWithoutIdsTakesLlamaCppsDefaults) {
  const io::GgufFile source = io::GgufFile::open(test::fixture("tok_families/spm.gguf"));
  io::GgufMetadata metadata;
  for (const auto& [key, value] : source.metadata()) {
    if (key != "tokenizer.ggml.bos_token_id" && key != "tokenizer.ggml.eos_token_id" &&
        key != "tokenizer.ggml.add_bos_token") {
      metadata.emplace_back(key, value);
    }
  }
  const std::string path = test::temp_dir("remedi-tok-spm-defaults") + "/tokenizer.gguf";
  io::write_gguf(path, metadata, {});
  const Tokenizer defaults = Tokenizer::load(path);
  EXPECT_EQ(defaults.bos_id(), 1);
  EXPECT_EQ(defaults.eos_id(), 2);
  EXPECT_EQ(defaults.special_prefix(), std::vector<std::int64_t>{1});
  const Tokenizer keyed = Tokenizer::load(test::fixture("tok_families/spm.gguf"));
  EXPECT_EQ(keyed.bos_id(), source.get_int("tokenizer.ggml.bos_token_id"));
  EXPECT_EQ(keyed.eos_id(), source.get_int("tokenizer.ggml.eos_token_id"));
  EXPECT_TRUE(keyed.special_prefix().empty());  // the fixture says add_bos_token = false
}

TEST(SpecialTokens, GgufBosComesBeforeTheTextWithAnEmptySpan) {
  const Tokenizer tokenizer = Tokenizer::load(write_llama3_gguf("llama-bpe", {}, {}));
  for (const std::string text : {"", "Hello world", "<|begin_of_text|>x", "In 2024, 1234567 people"}) {
    const Encoding plain = tokenizer.encode(text);
    Encoding expected;
    expected.ids = {0};
    expected.offsets = {{0, 0}};
    expected.ids.insert(expected.ids.end(), plain.ids.begin(), plain.ids.end());
    expected.offsets.insert(expected.offsets.end(), plain.offsets.begin(), plain.offsets.end());
    const Encoding actual = tokenizer.encode(text, true);
    EXPECT_EQ(actual.ids, expected.ids) << text;
    EXPECT_EQ(actual.offsets, expected.offsets) << text;
  }
}

TEST(SpecialTokens, SpansNeverStartAtTheAddedBos) {
  const Tokenizer tokenizer = Tokenizer::load(test::fixture("tok_families/gemma"));
  const std::string text = "Hello world, Hello";
  const Encoding plain = tokenizer.encode(text);
  const Encoding with = tokenizer.encode(text, true);
  ASSERT_EQ(with.ids.size(), plain.ids.size() + 1);
  for (const SpanStartRule rule : {SpanStartRule::Inclusive, SpanStartRule::Strict}) {
    for (const int occurrence : {0, 1}) {
      const TokenRange without_bos = token_range(plain.offsets, text, "Hello", occurrence, rule);
      const TokenRange with_bos = token_range(with.offsets, text, "Hello", occurrence, rule);
      EXPECT_EQ(with_bos.begin, without_bos.begin + 1) << occurrence;
      EXPECT_EQ(with_bos.end, without_bos.end + 1) << occurrence;
    }
  }
  // The entity at character 0, on bare offsets: the BOS's {0, 0} is not its start.
  const std::vector<Offset> offsets = {{0, 0}, {0, 5}, {5, 11}, {0, 0}};
  EXPECT_EQ(token_range_for_span(offsets, {0, 5}), (TokenRange{1, 2}));
  EXPECT_EQ(token_range_for_span(offsets, {0, 11}, SpanStartRule::Strict), (TokenRange{1, 3}));
  EXPECT_EQ(token_range_for_span(offsets, {5, 11}), (TokenRange{1, 3}));  // inclusive: Paris ends at 5
}

}  // namespace
}  // namespace remedi::tok
