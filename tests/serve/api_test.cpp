// The request parser of `remedi serve` (serve/api.h): OpenAI fields and the `edits` extension are read
// into a CompletionRequest; every bad field is an ApiError(400) that names it.
#include <gtest/gtest.h>

#include <string>

#include "serve/api.h"
#include "test_support.h"

namespace remedi::serve {
namespace {

ChatTemplate chatml(const std::string& default_system = "") {
  ChatTemplate t;
  t.kind = ChatTemplate::Kind::ChatML;
  t.default_system = default_system;
  return t;
}

// The `param` of the ApiError that parsing `body` throws ("<none>" when it parses).
std::string refused(const std::string& body, bool chat = false) {
  try {
    parse_request(body, chat, chatml());
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400) << body;
    EXPECT_TRUE(e.json()["error"]["message"].is_string());
    return e.param();
  }
  return "<none>";
}

TEST(ServeApi, ReadsACompletionRequest) {
  const CompletionRequest r = parse_request(
      R"({"model": "m", "prompt": "Paris is in", "max_tokens": 5, "temperature": 0, "top_p": 0.9,
          "top_k": 3, "seed": 7, "stop": ["\n", "."], "n": 1, "stream": true, "logprobs": 2,
          "stream_options": {"include_usage": true}, "user": "u", "echo": false,
          "edits": [{"entity": "Paris", "context": "Paris is in Italy", "alpha": 2, "layer": 1}],
          "return_edit": true})",
      false);
  EXPECT_EQ(r.prompt, "Paris is in");
  EXPECT_EQ(r.sampling.max_tokens, 5);
  EXPECT_EQ(r.sampling.temperature, 0);
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_EQ(*r.sampling.seed, 7U);
  EXPECT_EQ(r.sampling.stop, (std::vector<std::string>{"\n", "."}));
  EXPECT_EQ(r.sampling.logprobs, 2);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  ASSERT_EQ(r.edits.size(), 1U);
  EXPECT_EQ(r.edits[0].entity, "Paris");
  EXPECT_EQ(r.edits[0].layer, 1);
  EXPECT_EQ(r.edits[0].alpha, 2);
  EXPECT_EQ(r.edits[0].editor, "linear");
  EXPECT_TRUE(r.return_edit);
}

TEST(ServeApi, RendersChatMessagesWithChatML) {
  const CompletionRequest r = parse_request(
      R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Where is Paris?"}]}],
          "logprobs": true, "top_logprobs": 3, "max_completion_tokens": 4})",
      true, chatml());
  EXPECT_EQ(r.prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhere is Paris?<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(r.sampling.logprobs, 3);
  EXPECT_EQ(r.sampling.max_tokens, 4);
  EXPECT_TRUE(r.chat);
}

TEST(ServeApi, PutsTheTemplatesDefaultSystemMessageFirst) {
  const std::string user = R"({"messages": [{"role": "user", "content": "Hi"}]})";
  EXPECT_EQ(
      parse_request(user, true, chatml("Be kind.")).prompt,
      "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const std::string system = R"({"messages": [{"role": "system", "content": "Be brief."}]})";
  EXPECT_EQ(parse_request(system, true, chatml("Be kind.")).prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ServeApi, ReadsSmolLM2sTemplateFromItsGguf) {
  const std::string model = test::default_model_path();
  if (model.empty()) GTEST_SKIP() << "the default model is not fetched (scripts/fetch-model.sh)";
  const ChatTemplate t = detect_chat_template(model, "auto");
  EXPECT_EQ(t.kind, ChatTemplate::Kind::ChatML);
  EXPECT_EQ(t.default_system.rfind("You are a helpful AI assistant named SmolLM", 0), 0U) << t.default_system;
  EXPECT_EQ(detect_chat_template(test::fixture("lm/gpt2"), "auto").kind, ChatTemplate::Kind::None);
  EXPECT_EQ(detect_chat_template(test::fixture("lm/gpt2"), "chatml").kind, ChatTemplate::Kind::ChatML);
  EXPECT_THROW(detect_chat_template(model, "vicuna"), ApiError);
}

TEST(ServeApi, RefusesBadFieldsNamingThem) {
  EXPECT_EQ(refused("{\"prompt\": \"a\""), "");                     // malformed JSON
  EXPECT_EQ(refused(R"({"prompt": "a", "seed": 1e999})"), "");      // too large (fuzz_serve_request)
  EXPECT_EQ(refused("[1]"), "");                                    // not an object
  EXPECT_EQ(refused(R"({"prompt": "a", "colour": 1})"), "colour");  // unknown field
  EXPECT_EQ(refused(R"({"prompt": 3})"), "prompt");                 // wrong type
  EXPECT_EQ(refused(R"({"max_tokens": 3})"), "prompt");             // missing
  EXPECT_EQ(refused(R"({"prompt": "a", "max_tokens": "3"})"), "max_tokens");
  EXPECT_EQ(refused(R"({"prompt": "a", "max_tokens": -1})"), "max_tokens");
  EXPECT_EQ(refused(R"({"prompt": "a", "temperature": 3})"), "temperature");
  EXPECT_EQ(refused(R"({"prompt": "a", "n": 2})"), "n");
  EXPECT_EQ(refused(R"({"prompt": "a", "stream": "yes"})"), "stream");
  EXPECT_EQ(refused(R"({"prompt": "a", "stop": ["1", "2", "3", "4", "5"]})"), "stop");
  EXPECT_EQ(refused(R"({"prompt": "a", "stop": [1]})"), "stop[0]");
  EXPECT_EQ(refused(R"({"prompt": "a", "logprobs": 21})"), "logprobs");
  EXPECT_EQ(refused(R"({"prompt": "a", "presence_penalty": 1})"), "presence_penalty");
  EXPECT_EQ(refused(R"({"prompt": "a", "edits": {}})"), "edits");
  EXPECT_EQ(refused(R"({"prompt": "Paris is", "edits": [{"entity": "Rome", "context": "Rome is big"}]})"),
            "edits[0].entity");
  EXPECT_EQ(refused(R"({"prompt": "Paris is", "edits": [{"entity": "Paris"}]})"), "edits[0].context");
  EXPECT_EQ(refused(R"({"prompt": "Paris is", "edits": [{"entity": "Paris", "context": "x", "size": 1}]})"),
            "edits[0].size");
  EXPECT_EQ(
      refused(R"({"prompt": "Paris is", "edits": [{"entity": "Paris", "context": "x", "alpha": "1"}]})"),
      "edits[0].alpha");
  EXPECT_EQ(
      refused(R"({"prompt": "Paris is", "edits": [{"entity": "Paris", "context": "x", "editor": "../x"}]})"),
      "edits[0].editor");
  EXPECT_EQ(
      refused(
          R"({"prompt": "Paris is", "edits": [{"entity": "Paris", "context": "P is x", "attribute": "y"}]})"),
      "edits[0].attribute");
  EXPECT_EQ(refused(R"({"prompt": "a", "return_edit": true})"), "return_edit");
  EXPECT_EQ(refused(R"({"messages": []})", true), "messages");
  EXPECT_EQ(refused(R"({"messages": [{"role": "robot", "content": "x"}]})", true), "messages[0].role");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", true),
            "top_logprobs");
  EXPECT_EQ(refused(R"({"prompt": "a"})", true), "prompt");  // the completions field on the chat endpoint
}

TEST(ServeApi, RefusesChatWithoutASupportedTemplate) {
  try {
    parse_request(R"({"messages": [{"role": "user", "content": "x"}]})", true, {});
    FAIL() << "parsed";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.param(), "messages");
    EXPECT_NE(std::string(e.what()).find("template"), std::string::npos);
  }
}

TEST(ServeApi, ShapesResponsesLikeOpenAI) {
  CompletionRequest request = parse_request(R"({"prompt": "a", "logprobs": 1})", false);
  CompletionResult result;
  result.text = "bc";
  result.finish_reason = "length";
  result.steps = {{{1, "b", -0.5}, {{1, "b", -0.5}}}, {{2, "c", -1.0}, {{2, "c", -1.0}}}};
  result.prompt_tokens = 1;
  result.completion_tokens = 2;
  const nlohmann::json j = response_json(request, result, "cmpl-1", 5, "m");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "bc");
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"], nlohmann::json({"b", "c"}));
  EXPECT_EQ(j["choices"][0]["logprobs"]["text_offset"], nlohmann::json({0, 1}));
  EXPECT_EQ(j["usage"]["total_tokens"], 3);
  request.chat = true;
  const nlohmann::json c = response_json(request, result, "chatcmpl-1", 5, "m");
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["choices"][0]["message"]["content"], "bc");
  EXPECT_EQ(c["choices"][0]["logprobs"]["content"][1]["token"], "c");
  const nlohmann::json chunk = chunk_json(request, "b", {}, std::nullopt, "chatcmpl-1", 5, "m", true);
  EXPECT_EQ(chunk["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(chunk["choices"][0]["delta"]["content"], "b");
  EXPECT_TRUE(chunk["choices"][0]["finish_reason"].is_null());
}

}  // namespace
}  // namespace remedi::serve
