#include "serve/chat_template.h"

#include <ctime>
#include <filesystem>
#include <fstream>

#include "data/text.h"
#include "io/gguf.h"
#include "serve/api.h"

namespace remedi::serve {

namespace {

using nlohmann::json;

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// A template's literal ChatML system turn, "<|im_start|>system" + newline + text + "<|im_end|>", whose
// text has no Jinja in it: the default system message (the newline is a real one in some files and a
// "\n" escape inside a Jinja string literal in others).
std::string literal_system_turn(const std::string& text) {
  const std::string open = "<|im_start|>system";
  for (std::size_t at = text.find(open); at != std::string::npos; at = text.find(open, at + 1)) {
    std::size_t start = at + open.size();
    if (text.compare(start, 1, "\n") == 0) {
      start += 1;
    } else if (text.compare(start, 2, "\\n") == 0) {
      start += 2;
    } else {
      continue;
    }
    const std::size_t end = text.find("<|im_end|>", start);
    if (end == std::string::npos) break;
    const std::string body = text.substr(start, end - start);
    if (body.empty() || body.find_first_of("{}'\"") != std::string::npos) continue;
    return body;
  }
  return "";
}

ChatTemplate forced_template(const std::string& forced) {
  ChatTemplate out;
  if (forced == "chatml") {
    out.kind = ChatTemplate::Kind::ChatML;
  } else if (forced == "llama3") {
    out.kind = ChatTemplate::Kind::Llama3;
  } else if (forced == "gemma") {
    out.kind = ChatTemplate::Kind::Gemma;
  } else if (forced == "phi3") {
    out.kind = ChatTemplate::Kind::Phi3;
  } else {
    throw ApiError(400, "--chat-template",
                   "'" + forced + "' is not a supported template (auto, chatml, llama3, gemma, phi3)");
  }
  out.description = forced + " (--chat-template)";
  return out;
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%d %b %Y", &utc);
  return buffer;
}

const std::string& role_of(const json& message) { return message["role"].get_ref<const std::string&>(); }
const std::string& content_of(const json& message) {
  return message["content"].get_ref<const std::string&>();
}

std::string render_chatml(const ChatTemplate& t, const json& messages) {
  std::string prompt;
  if (!t.default_system.empty() && (messages.empty() || role_of(messages[0]) != "system")) {
    prompt += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
  }
  for (const auto& m : messages)
    prompt += "<|im_start|>" + role_of(m) + "\n" + content_of(m) + "<|im_end|>\n";
  return prompt + "<|im_start|>assistant\n";
}

std::string render_llama3(const ChatTemplate& t, const json& messages) {
  const auto turn = [](const std::string& role, const std::string& content) {
    return "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content + "<|eot_id|>";
  };
  std::string prompt = t.bos;
  std::size_t first = 0;
  if (t.dated_system) {
    std::string system;
    if (!messages.empty() && role_of(messages[0]) == "system") {
      system = data::strip_whitespace(content_of(messages[0]));
      first = 1;
    }
    prompt += turn("system", "Cutting Knowledge Date: December 2023\nToday Date: " +
                                 (t.date.empty() ? today_utc() : t.date) + "\n\n" + system);
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    prompt += turn(role_of(messages[i]), data::strip_whitespace(content_of(messages[i])));
  }
  return prompt + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

std::string render_gemma(const ChatTemplate& t, const json& messages) {
  std::string prompt = t.bos;
  std::string first_user_prefix;
  std::size_t first = 0;
  if (!messages.empty() && role_of(messages[0]) == "system") {
    if (!t.system_role)
      throw ApiError(400, "messages[0].role", "this model's template does not accept a system message");
    first_user_prefix = content_of(messages[0]) + "\n\n";
    first = 1;
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    const std::string& role = role_of(messages[i]);
    if ((role == "user") != ((i - first) % 2 == 0)) {
      throw ApiError(400, "messages[" + std::to_string(i) + "].role",
                     "this model's template needs user and assistant turns alternating, starting with user");
    }
    prompt += "<start_of_turn>" + std::string(role == "assistant" ? "model" : role) + "\n" +
              (i == first ? first_user_prefix : "") + data::strip_whitespace(content_of(messages[i])) +
              "<end_of_turn>\n";
  }
  return prompt + "<start_of_turn>model\n";
}

std::string render_phi3(const json& messages) {
  std::string prompt;
  for (const auto& m : messages) {
    // the template leaves out a system message whose content is empty
    if (role_of(m) == "system" && content_of(m).empty()) continue;
    prompt += "<|" + role_of(m) + "|>\n" + content_of(m) + "<|end|>\n";
  }
  return prompt + "<|assistant|>\n";
}

}  // namespace

ChatTemplate chat_template_from_text(const std::string& text) {
  ChatTemplate out;
  if (text.empty()) {
    out.description =
        "none (the model has no chat template; --chat-template chatml|llama3|gemma|phi3 sets one)";
    return out;
  }
  if (contains(text, "<|im_start|>") && contains(text, "<|im_end|>")) {
    out.kind = ChatTemplate::Kind::ChatML;
    out.description = "chatml (from the model)";
    out.default_system = literal_system_turn(text);
    if (!out.default_system.empty()) out.description += ", with a default system message";
  } else if (contains(text, "<|start_header_id|>") && contains(text, "<|eot_id|>")) {
    out.kind = ChatTemplate::Kind::Llama3;
    out.description = "llama3 (from the model)";
    if (contains(text, "Cutting Knowledge Date")) {
      out.dated_system = true;
      // the template's default date, `{%- set date_string = "26 Jul 2024" %}`, unless it asks the clock
      const std::string key = "set date_string = \"";
      const std::size_t at = text.find(key);
      if (!contains(text, "strftime_now") && at != std::string::npos) {
        const std::size_t start = at + key.size();
        out.date = text.substr(start, text.find('"', start) - start);
      }
      out.description +=
          out.date.empty() ? ", dated system turn (today)" : ", dated system turn (" + out.date + ")";
    }
  } else if (contains(text, "<start_of_turn>") && contains(text, "<end_of_turn>")) {
    out.kind = ChatTemplate::Kind::Gemma;
    out.system_role = !contains(text, "System role not supported");
    out.description = out.system_role ? "gemma (from the model)" : "gemma (from the model), no system role";
  } else if (contains(text, "<|system|>") && contains(text, "<|user|>") && contains(text, "<|assistant|>") &&
             contains(text, "<|end|>")) {
    out.kind = ChatTemplate::Kind::Phi3;
    out.description = "phi3 (from the model)";
  } else {
    out.description =
        "unsupported (the model's template is none of chatml, llama3, gemma, phi3; --chat-template sets one)";
  }
  return out;
}

ChatTemplate detect_chat_template(const std::string& model_path, const std::string& forced) {
  if (!forced.empty() && forced != "auto") return forced_template(forced);
  std::string text;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(model_path, ec) && fs::path(model_path).extension() == ".gguf") {
    const io::GgufFile gguf = io::GgufFile::open(model_path);
    if (gguf.has("tokenizer.chat_template")) text = gguf.get_string("tokenizer.chat_template");
  } else if (fs::is_directory(model_path, ec) &&
             fs::exists(fs::path(model_path) / "tokenizer_config.json", ec)) {
    std::ifstream in(fs::path(model_path) / "tokenizer_config.json");
    const json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (config.is_object() && config.contains("chat_template") && config["chat_template"].is_string()) {
      text = config["chat_template"].get<std::string>();
    }
  }
  return chat_template_from_text(text);
}

std::string render_chat(const ChatTemplate& chat_template, const json& messages) {
  switch (chat_template.kind) {
    case ChatTemplate::Kind::ChatML:
      return render_chatml(chat_template, messages);
    case ChatTemplate::Kind::Llama3:
      return render_llama3(chat_template, messages);
    case ChatTemplate::Kind::Gemma:
      return render_gemma(chat_template, messages);
    case ChatTemplate::Kind::Phi3:
      return render_phi3(messages);
    case ChatTemplate::Kind::None:
      break;
  }
  throw ApiError(400, "messages",
                 "this model's chat template is not supported: " + chat_template.description);
}

std::string end_of_turn(const ChatTemplate& chat_template) {
  switch (chat_template.kind) {
    case ChatTemplate::Kind::ChatML:
      return "<|im_end|>";
    case ChatTemplate::Kind::Llama3:
      return "<|eot_id|>";
    case ChatTemplate::Kind::Gemma:
      return "<end_of_turn>";
    case ChatTemplate::Kind::Phi3:
      return "<|end|>";
    case ChatTemplate::Kind::None:
      break;
  }
  return "";
}

}  // namespace remedi::serve
