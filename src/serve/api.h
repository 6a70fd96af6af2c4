// The OpenAI-compatible request and response shapes of `remedi serve` (docs/SERVER.md): parsing and
// checking a request body into a CompletionRequest (every field known, of the right type and range,
// or an ApiError naming it), the chat template that turns messages into a prompt, and the JSON of
// responses, stream chunks and errors. Nothing here touches the model or the network.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "serve/chat_template.h"

namespace remedi::serve {

// A request the server refuses: answered with HTTP `status` and OpenAI's error object
// {"error": {"message", "type", "param", "code"}}; `param` names the request field at fault.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string param, const std::string& message,
           std::string type = "invalid_request_error");
  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& type() const { return type_; }
  nlohmann::json json() const;

 private:
  int status_;
  std::string param_;
  std::string type_;
};

// One element of the `edits` extension: edit `entity` where it occurs in the prompt so that the LM
// reads it as if `context` (or `attribute`) held, with the editor of `editor` type at `layer`.
struct EditSpec {
  std::string entity;
  std::string context;    // a sentence stating the attribute; when empty, `attribute` is used as the context
  std::string attribute;  // a part of the context; empty: the context after the entity (remedi/edit.h)
  std::int64_t layer = -1;        // -1: the only layer saved for `editor`
  std::string editor = "linear";  // editor type (a folder under the editors directory)
  double alpha = 1.0;
  double beta = 1.0;
};

struct Sampling {
  std::int64_t max_tokens = 16;
  double temperature = 1.0;  // 0: greedy
  std::int64_t top_k = 0;    // 0: no cut (an extension, as vLLM has it)
  double top_p = 1.0;
  std::optional<std::uint64_t> seed;  // none: a fresh random seed per request
  std::vector<std::string> stop;      // at most 4 strings; the text ends before the first one
  std::int64_t logprobs = -1;         // -1: none; N >= 0: the chosen token's and the top N per step
};

struct CompletionRequest {
  bool chat = false;        // /v1/chat/completions (else /v1/completions)
  std::string end_of_turn;  // chat: the template's end-of-turn token text, a stop token
  std::string model;        // as sent; echoed back
  std::string prompt;       // the text run (for chat: the messages through the template)
  Sampling sampling;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the token counts
  std::vector<EditSpec> edits;
  bool return_edit = false;  // report the top next tokens before and after the edits
};

// Parses a body sent to /v1/completions (`chat` false) or /v1/chat/completions. Unknown fields,
// wrongly typed or out-of-range values, malformed JSON, n != 1 and an edit's entity missing from
// the prompt all throw ApiError(400) naming the field ("edits[1].entity", "max_tokens", ...).
// Limits the model imposes (context, vocabulary) are checked by the Scheduler, which knows them.
CompletionRequest parse_request(const std::string& body, bool chat, const ChatTemplate& chat_template = {});

// Response JSON. `id` is the request's id ("cmpl-..." / "chatcmpl-..."), `created` seconds since epoch.
struct TokenInfo {
  std::int64_t id = 0;
  std::string text;
  double logprob = 0;
};
struct StepInfo {
  TokenInfo token;
  std::vector<TokenInfo> top;
};
struct EditReport {
  std::vector<std::string> attributes;  // per edit, the attribute the editor read
  std::vector<TokenInfo> before;        // top next tokens of the unedited prompt (logprob = log p)
  std::vector<TokenInfo> after;         // and of the edited one
};
struct CompletionResult {
  std::string text;
  std::string finish_reason;  // "stop" | "length"
  std::vector<StepInfo> steps;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::optional<EditReport> edit;
};

nlohmann::json response_json(const CompletionRequest& request, const CompletionResult& result,
                             const std::string& id, std::int64_t created, const std::string& model);
// One server-sent event's JSON: a text delta (with its steps' logprobs when asked for); `finish` set
// on the last one. For chat the first chunk also carries {"role": "assistant"}. `offset`: where the
// first step's token starts in the completion (the legacy logprobs' text_offset).
nlohmann::json chunk_json(const CompletionRequest& request, const std::string& delta,
                          const std::vector<StepInfo>& steps, const std::optional<std::string>& finish,
                          const std::string& id, std::int64_t created, const std::string& model, bool first,
                          std::size_t offset = 0);
nlohmann::json usage_json(std::int64_t prompt_tokens, std::int64_t completion_tokens);
nlohmann::json edit_json(const EditReport& report);

}  // namespace remedi::serve
