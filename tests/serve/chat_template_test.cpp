// Chat templates (serve/chat_template.h): the families' own templates, rendered by transformers'
// apply_chat_template (tests/reference/make_chat_fixtures.py), give the same prompts as the server's
// renderer, and the conversations a template refuses are refused; a template's text is recognised by
// the special tokens it writes.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "serve/api.h"
#include "serve/chat_template.h"
#include "test_support.h"

namespace remedi::serve {
namespace {

ChatTemplate::Kind kind_named(const std::string& name) {
  if (name == "chatml") return ChatTemplate::Kind::ChatML;
  if (name == "llama3") return ChatTemplate::Kind::Llama3;
  if (name == "gemma") return ChatTemplate::Kind::Gemma;
  if (name == "phi3") return ChatTemplate::Kind::Phi3;
  return ChatTemplate::Kind::None;
}

TEST(ChatTemplate, RendersAsTheFamiliesOwnTemplates) {
  std::ifstream in(test::fixture("serve/chat_templates.json"));
  const nlohmann::json fixture = nlohmann::json::parse(in);
  int rendered = 0;
  int refused = 0;
  for (const auto& entry : fixture["templates"]) {
    ChatTemplate t;
    t.kind = kind_named(entry["kind"]);
    ASSERT_NE(t.kind, ChatTemplate::Kind::None) << entry["template"];
    const nlohmann::json& settings = entry["settings"];
    t.default_system = settings.value("default_system", "");
    t.dated_system = settings.value("dated_system", false);
    t.date = settings.value("date", "");
    t.system_role = settings.value("system_role", true);
    t.bos = entry["bos"];
    for (const auto& c : entry["cases"]) {
      SCOPED_TRACE(entry["template"].get<std::string>() + " " + c["messages"].dump());
      if (c.contains("error")) {
        EXPECT_THROW(render_chat(t, c["messages"]), ApiError);
        ++refused;
      } else {
        EXPECT_EQ(render_chat(t, c["messages"]), c["prompt"].get<std::string>());
        ++rendered;
      }
    }
  }
  EXPECT_EQ(rendered, 38);  // 6 templates x 7 conversations, 4 of which Gemma 2 refuses
  EXPECT_EQ(refused, 4);
}

TEST(ChatTemplate, RecognisesATemplateByItsTokens) {
  // short texts of our own with each family's markers (the real templates are not stored here)
  const ChatTemplate qwen = chat_template_from_text(
      "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
      "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are a test model.<|im_end|>\\n' }}{%- "
      "endif %}");
  EXPECT_EQ(qwen.kind, ChatTemplate::Kind::ChatML);
  EXPECT_EQ(qwen.default_system, "You are a test model.");
  EXPECT_EQ(chat_template_from_text("{{'<|im_start|>' + m + '<|im_end|>'}}").default_system, "");

  const ChatTemplate llama31 = chat_template_from_text(
      "{%- set date_string = \"1 Jan 2025\" %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}"
      "{{- \"Cutting Knowledge Date: December 2023\\n\" }}{{- \"<|eot_id|>\" }}");
  EXPECT_EQ(llama31.kind, ChatTemplate::Kind::Llama3);
  EXPECT_TRUE(llama31.dated_system);
  EXPECT_EQ(llama31.date, "1 Jan 2025");
  const ChatTemplate llama32 = chat_template_from_text(
      "{%- if strftime_now is defined %}{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- else %}"
      "{%- set date_string = \"1 Jan 2025\" %}{%- endif %}<|start_header_id|>Cutting Knowledge "
      "Date<|eot_id|>");
  EXPECT_TRUE(llama32.dated_system);
  EXPECT_EQ(llama32.date, "");  // today's, from the clock
  const ChatTemplate llama30 =
      chat_template_from_text("<|start_header_id|>{{ role }}<|end_header_id|><|eot_id|>");
  EXPECT_EQ(llama30.kind, ChatTemplate::Kind::Llama3);
  EXPECT_FALSE(llama30.dated_system);

  const ChatTemplate gemma2 = chat_template_from_text(
      "{{ raise_exception('System role not supported') }}<start_of_turn><end_of_turn>");
  EXPECT_EQ(gemma2.kind, ChatTemplate::Kind::Gemma);
  EXPECT_FALSE(gemma2.system_role);
  EXPECT_TRUE(chat_template_from_text("<start_of_turn>{{ first_user_prefix }}<end_of_turn>").system_role);

  EXPECT_EQ(chat_template_from_text("<|system|><|user|><|assistant|><|end|>").kind, ChatTemplate::Kind::Phi3);
  // the first Phi-3 template, which drops system messages, is not Phi-3.5's
  EXPECT_EQ(chat_template_from_text("<|user|><|assistant|><|end|>").kind, ChatTemplate::Kind::None);
  EXPECT_EQ(chat_template_from_text("[INST] {{ content }} [/INST]").kind, ChatTemplate::Kind::None);
  EXPECT_EQ(chat_template_from_text("").kind, ChatTemplate::Kind::None);
}

TEST(ChatTemplate, TodayIsTheDateWhenTheTemplateAsksTheClock) {
  ChatTemplate t;
  t.kind = ChatTemplate::Kind::Llama3;
  t.dated_system = true;
  const std::string prompt = render_chat(t, nlohmann::json::parse(R"([{"role": "user", "content": "hi"}])"));
  const std::string key = "Today Date: ";
  const std::size_t at = prompt.find(key);
  ASSERT_NE(at, std::string::npos) << prompt;
  const std::string date = prompt.substr(at + key.size(), prompt.find('\n', at) - at - key.size());
  EXPECT_EQ(date.size(), 11U) << date;  // "%d %b %Y": "06 Dec 2026"
}

TEST(ChatTemplate, ChatRequestsStopAtTheTemplatesEndOfTurn) {
  ChatTemplate t;
  t.kind = ChatTemplate::Kind::Gemma;
  const CompletionRequest r =
      parse_request(R"({"messages": [{"role": "user", "content": "hi"}]})", /*chat=*/true, t);
  EXPECT_EQ(r.prompt, "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(r.end_of_turn, "<end_of_turn>");
  EXPECT_EQ(end_of_turn(ChatTemplate{}), "");
  try {
    parse_request(R"({"messages": [{"role": "user", "content": "hi"}]})", true, ChatTemplate{});
    ADD_FAILURE() << "a model without a template must refuse chat requests";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.param(), "messages");
  }
}

}  // namespace
}  // namespace remedi::serve
