#include "serve/api.h"

#include <cmath>
#include <set>
#include <utility>

namespace remedi::serve {

ApiError::ApiError(int status, std::string param, const std::string& message, std::string type)
    : std::runtime_error(param.empty() ? message : param + ": " + message),
      status_(status),
      param_(std::move(param)),
      type_(std::move(type)) {}

nlohmann::json ApiError::json() const {
  return {{"error",
           {{"message", what()},
            {"type", type_},
            {"param", param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_)},
            {"code", nullptr}}}};
}

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& message) {
  throw ApiError(400, field, message);
}

std::string get_string(const json& value, const std::string& field) {
  if (!value.is_string()) bad(field, "must be a string");
  return value.get<std::string>();
}

bool get_bool(const json& value, const std::string& field) {
  if (!value.is_boolean()) bad(field, "must be a boolean");
  return value.get<bool>();
}

std::int64_t get_int(const json& value, const std::string& field, std::int64_t low, std::int64_t high) {
  if (!value.is_number_integer()) bad(field, "must be an integer");
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(high)) {
    bad(field, "must be at most " + std::to_string(high));
  }
  const auto v = value.get<std::int64_t>();
  if (v < low || v > high)
    bad(field, "must be between " + std::to_string(low) + " and " + std::to_string(high));
  return v;
}

double get_number(const json& value, const std::string& field, double low, double high) {
  if (!value.is_number()) bad(field, "must be a number");
  const auto v = value.get<double>();
  if (!std::isfinite(v) || v < low || v > high) {
    bad(field, "must be between " + json(low).dump() + " and " + json(high).dump());
  }
  return v;
}

// A field the server accepts for compatibility only with the value that means "off".
void require_default(const json& value, const std::string& field, const json& off) {
  if (value.is_null() || value == off) return;
  bad(field, "is not supported (only " + off.dump() + ")");
}

EditSpec parse_edit(const json& value, const std::string& at, const std::string& prompt) {
  if (!value.is_object()) bad(at, "must be an object");
  EditSpec edit;
  bool has_entity = false;
  for (const auto& [key, v] : value.items()) {
    const std::string field = at + "." + key;
    if (key == "entity") {
      edit.entity = get_string(v, field);
      has_entity = true;
    } else if (key == "context") {
      edit.context = get_string(v, field);
    } else if (key == "attribute") {
      edit.attribute = get_string(v, field);
    } else if (key == "layer") {
      edit.layer = get_int(v, field, 0, 100000);
    } else if (key == "alpha") {
      edit.alpha = get_number(v, field, -1e6, 1e6);
    } else if (key == "beta") {
      edit.beta = get_number(v, field, -1e6, 1e6);
    } else if (key == "editor") {
      edit.editor = get_string(v, field);
      // A folder name under the editors directory: nothing that could climb out of it.
      if (edit.editor.empty() ||
          edit.editor.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-") != std::string::npos) {
        bad(field, "must be an editor type name (letters, digits, '_' and '-')");
      }
    } else {
      bad(field, "unknown field (known: entity, context, attribute, layer, alpha, beta, editor)");
    }
  }
  if (!has_entity || edit.entity.empty()) bad(at + ".entity", "is required and must not be empty");
  if (edit.context.empty() && edit.attribute.empty())
    bad(at + ".context", "one of context or attribute is required");
  if (edit.context.empty()) edit.context = edit.attribute;
  if (!edit.attribute.empty() && edit.context.find(edit.attribute) == std::string::npos) {
    bad(at + ".attribute", "'" + edit.attribute + "' is not part of the context");
  }
  if (prompt.find(edit.entity) == std::string::npos) {
    bad(at + ".entity", "'" + edit.entity + "' does not occur in the prompt");
  }
  return edit;
}

std::vector<std::string> parse_stop(const json& value) {
  if (value.is_null()) return {};
  if (value.is_string()) {
    if (value.get<std::string>().empty()) bad("stop", "must not be empty");
    return {value.get<std::string>()};
  }
  if (!value.is_array()) bad("stop", "must be a string or an array of strings");
  if (value.size() > 4) bad("stop", "at most 4 sequences");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    out.push_back(get_string(value[i], "stop[" + std::to_string(i) + "]"));
    if (out.back().empty()) bad("stop[" + std::to_string(i) + "]", "must not be empty");
  }
  return out;
}

std::string message_content(const json& content, const std::string& field) {
  if (content.is_string()) return content.get<std::string>();
  // [{"type": "text", "text": ...}, ...]: the text parts, joined.
  if (!content.is_array()) bad(field, "must be a string or an array of text parts");
  std::string out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const json& part = content[i];
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text")) {
      bad(at, "only {\"type\": \"text\", \"text\": ...} parts are supported");
    }
    out += get_string(part["text"], at + ".text");
  }
  return out;
}

}  // namespace

CompletionRequest parse_request(const std::string& body, bool chat, const ChatTemplate& chat_template) {
  json root;
  try {
    root = json::parse(body);
  } catch (const json::exception& e) {  // a syntax error, or a number too large for a double
    throw ApiError(400, "", std::string("malformed JSON body: ") + e.what());
  }
  if (!root.is_object()) bad("", "the body must be a JSON object");
  CompletionRequest request;
  request.chat = chat;
  const json* edits = nullptr;
  bool has_prompt = false;
  json messages = json::array();
  std::optional<std::int64_t> top_logprobs;
  bool chat_logprobs = false;
  for (const auto& [key, v] : root.items()) {
    if (key == "model") {
      request.model = get_string(v, key);
    } else if (!chat && key == "prompt") {
      if (v.is_array() && v.size() == 1) {
        request.prompt = get_string(v[0], "prompt[0]");
      } else {
        request.prompt = get_string(v, key);
      }
      has_prompt = true;
    } else if (chat && key == "messages") {
      if (!v.is_array() || v.empty()) bad(key, "must be a non-empty array of messages");
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string at = "messages[" + std::to_string(i) + "]";
        if (!v[i].is_object()) bad(at, "must be an object");
        std::string role;
        std::string content;
        for (const auto& [mkey, mv] : v[i].items()) {
          if (mkey == "role") {
            role = get_string(mv, at + ".role");
            if (role != "system" && role != "user" && role != "assistant" && role != "developer") {
              bad(at + ".role", "must be system, developer, user or assistant");
            }
          } else if (mkey == "content") {
            content = message_content(mv, at + ".content");
          } else if (mkey != "name") {
            bad(at + "." + mkey, "unknown field (known: role, content, name)");
          }
        }
        if (role.empty()) bad(at + ".role", "is required");
        if (role == "developer") role = "system";
        messages.push_back({{"role", role}, {"content", content}});
      }
      has_prompt = true;
    } else if (key == "max_tokens" || (chat && key == "max_completion_tokens")) {
      if (!v.is_null()) request.sampling.max_tokens = get_int(v, key, 0, 1 << 20);
    } else if (key == "temperature") {
      if (!v.is_null()) request.sampling.temperature = get_number(v, key, 0, 2);
    } else if (key == "top_p") {
      if (!v.is_null()) request.sampling.top_p = get_number(v, key, 1e-9, 1);
    } else if (key == "top_k") {
      if (!v.is_null()) request.sampling.top_k = get_int(v, key, 0, 1 << 20);
    } else if (key == "seed") {
      if (!v.is_null()) {
        if (!v.is_number_integer()) bad(key, "must be an integer");
        request.sampling.seed = v.is_number_unsigned() ? v.get<std::uint64_t>()
                                                       : static_cast<std::uint64_t>(v.get<std::int64_t>());
      }
    } else if (key == "stop") {
      request.sampling.stop = parse_stop(v);
    } else if (key == "n") {
      if (!v.is_null() && get_int(v, key, 1, 1 << 20) != 1) bad(key, "only n = 1 is supported");
    } else if (key == "stream") {
      if (!v.is_null()) request.stream = get_bool(v, key);
    } else if (key == "stream_options") {
      if (v.is_null()) continue;
      if (!v.is_object()) bad(key, "must be an object");
      for (const auto& [skey, sv] : v.items()) {
        if (skey != "include_usage") bad(key + "." + skey, "unknown field (known: include_usage)");
        request.include_usage = get_bool(sv, key + "." + skey);
      }
    } else if (key == "logprobs") {
      if (v.is_null()) continue;
      if (chat) {
        chat_logprobs = get_bool(v, key);
      } else {
        request.sampling.logprobs = get_int(v, key, 0, 20);
      }
    } else if (chat && key == "top_logprobs") {
      if (!v.is_null()) top_logprobs = get_int(v, key, 0, 20);
    } else if (key == "user") {
      if (!v.is_null()) get_string(v, key);
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
      if (!v.is_null()) get_number(v, key, -2, 2);
      require_default(v, key, 0);
    } else if (!chat && key == "echo") {
      require_default(v, key, false);
    } else if (!chat && key == "best_of") {
      require_default(v, key, 1);
    } else if (!chat && key == "suffix") {
      require_default(v, key, json(nullptr));
    } else if (key == "logit_bias") {
      if (!v.is_null() && !(v.is_object() && v.empty())) bad(key, "is not supported");
    } else if (key == "edits") {
      if (!v.is_array()) bad(key, "must be an array of edits");
      if (v.size() > 16) bad(key, "at most 16 edits per request");
      edits = &v;
    } else if (key == "return_edit") {
      request.return_edit = get_bool(v, key);
    } else {
      bad(key, "unknown field");
    }
  }
  if (!has_prompt) bad(chat ? "messages" : "prompt", "is required");
  if (chat) {
    request.prompt = render_chat(chat_template, messages);
    request.end_of_turn = end_of_turn(chat_template);
    if (top_logprobs && !chat_logprobs) bad("top_logprobs", "needs logprobs: true");
    if (chat_logprobs) request.sampling.logprobs = top_logprobs.value_or(0);
  }
  if (request.prompt.empty()) bad("prompt", "must not be empty");
  if (edits != nullptr) {
    for (std::size_t i = 0; i < edits->size(); ++i) {
      request.edits.push_back(parse_edit((*edits)[i], "edits[" + std::to_string(i) + "]", request.prompt));
    }
  }
  if (request.return_edit && request.edits.empty()) bad("return_edit", "needs at least one edit in `edits`");
  return request;
}

namespace {

nlohmann::json bytes_of(const std::string& text) {
  nlohmann::json out = nlohmann::json::array();
  for (const char c : text) out.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return out;
}

nlohmann::json chat_logprobs_json(const std::vector<StepInfo>& steps) {
  nlohmann::json content = nlohmann::json::array();
  for (const StepInfo& s : steps) {
    nlohmann::json top = nlohmann::json::array();
    for (const TokenInfo& t : s.top) {
      top.push_back({{"token", t.text}, {"logprob", t.logprob}, {"bytes", bytes_of(t.text)}});
    }
    content.push_back({{"token", s.token.text},
                       {"logprob", s.token.logprob},
                       {"bytes", bytes_of(s.token.text)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// The legacy completions shape; `offset` is where the first step's text starts in the completion.
nlohmann::json completion_logprobs_json(const std::vector<StepInfo>& steps, std::size_t offset) {
  nlohmann::json tokens = nlohmann::json::array();
  nlohmann::json token_logprobs = nlohmann::json::array();
  nlohmann::json top_logprobs = nlohmann::json::array();
  nlohmann::json text_offset = nlohmann::json::array();
  for (const StepInfo& s : steps) {
    tokens.push_back(s.token.text);
    token_logprobs.push_back(s.token.logprob);
    nlohmann::json top = nlohmann::json::object();
    for (const TokenInfo& t : s.top) {
      if (!top.contains(t.text)) top[t.text] = t.logprob;
    }
    top_logprobs.push_back(top);
    text_offset.push_back(offset);
    offset += s.token.text.size();
  }
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", text_offset}};
}

}  // namespace

nlohmann::json usage_json(std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

nlohmann::json edit_json(const EditReport& report) {
  const auto list = [](const std::vector<TokenInfo>& tokens) {
    nlohmann::json out = nlohmann::json::array();
    for (const TokenInfo& t : tokens) {
      out.push_back({{"id", t.id}, {"token", t.text}, {"prob", std::exp(t.logprob)}});
    }
    return out;
  };
  return {{"attributes", report.attributes}, {"before", list(report.before)}, {"after", list(report.after)}};
}

nlohmann::json response_json(const CompletionRequest& request, const CompletionResult& result,
                             const std::string& id, std::int64_t created, const std::string& model) {
  const bool logprobs = request.sampling.logprobs >= 0;
  nlohmann::json choice = {{"index", 0}, {"finish_reason", result.finish_reason}};
  if (request.chat) {
    choice["message"] = {{"role", "assistant"}, {"content", result.text}};
    choice["logprobs"] = logprobs ? chat_logprobs_json(result.steps) : nlohmann::json(nullptr);
  } else {
    choice["text"] = result.text;
    choice["logprobs"] = logprobs ? completion_logprobs_json(result.steps, 0) : nlohmann::json(nullptr);
  }
  nlohmann::json out = {{"id", id},
                        {"object", request.chat ? "chat.completion" : "text_completion"},
                        {"created", created},
                        {"model", model},
                        {"choices", nlohmann::json::array({choice})},
                        {"usage", usage_json(result.prompt_tokens, result.completion_tokens)}};
  if (result.edit) out["edit"] = edit_json(*result.edit);
  return out;
}

nlohmann::json chunk_json(const CompletionRequest& request, const std::string& delta,
                          const std::vector<StepInfo>& steps, const std::optional<std::string>& finish,
                          const std::string& id, std::int64_t created, const std::string& model, bool first,
                          std::size_t offset) {
  const bool logprobs = request.sampling.logprobs >= 0 && !steps.empty();
  nlohmann::json choice = {{"index", 0},
                           {"finish_reason", finish ? nlohmann::json(*finish) : nlohmann::json(nullptr)}};
  if (request.chat) {
    nlohmann::json d = nlohmann::json::object();
    if (first) d["role"] = "assistant";
    if (!delta.empty() || !finish) d["content"] = delta;
    choice["delta"] = d;
    choice["logprobs"] = logprobs ? chat_logprobs_json(steps) : nlohmann::json(nullptr);
  } else {
    choice["text"] = delta;
    choice["logprobs"] = logprobs ? completion_logprobs_json(steps, offset) : nlohmann::json(nullptr);
  }
  return {{"id", id},
          {"object", request.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", nlohmann::json::array({choice})}};
}

}  // namespace remedi::serve
