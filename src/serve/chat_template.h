// Chat templates the server renders itself (no Jinja interpreter): the model's template text is
// recognised by the special tokens it writes, and the messages are laid out as that family's
// template lays them out. What each kind writes, for messages [{role, content}]:
//   ChatML (SmolLM2, Qwen2/2.5/3):  <|im_start|>role\ncontent<|im_end|>\n ... <|im_start|>assistant\n
//                                   (a default system turn first when the template has one and the
//                                   messages do not start with a system message)
//   Llama 3 (3.0-3.3):              BOS <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> ...
//                                   <|start_header_id|>assistant<|end_header_id|>\n\n; from 3.1 on a system
//                                   turn always comes first, with the knowledge cut-off and date lines
//   Gemma (2, 3):                   BOS <start_of_turn>user\ncontent<end_of_turn>\n ...
//   <start_of_turn>model\n
//                                   (assistant is "model"; roles alternate starting with user; Gemma 2
//                                   refuses a system message, Gemma 3 puts it before the first user turn)
//   Phi-3 / 3.5:                    <|role|>\ncontent<|end|>\n ... <|assistant|>\n
// Llama 3 and Gemma trim each message's content, as their templates do (Jinja's `trim` is Python's
// str.strip(): data::strip_whitespace). Anything else (tools, images,
// other templates) is refused with a 400 naming `messages`; tests/reference/make_chat_fixtures.py
// renders the families' own templates with Jinja for the tests.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace remedi::serve {

struct ChatTemplate {
  enum class Kind { None, ChatML, Llama3, Gemma, Phi3 };
  Kind kind = Kind::None;
  // ChatML: the system message the template puts first when the messages do not start with one
  // (SmolLM2's "You are a helpful AI assistant named SmolLM, ...", Qwen2.5's "You are Qwen, ...").
  std::string default_system;
  // Llama 3.1+: the system turn with "Cutting Knowledge Date" and "Today Date" lines comes first
  // always; `date` is the template's default date ("26 Jul 2024"), empty when the template asks for
  // today's (strftime_now, Llama 3.2), which render_chat then formats as "%d %b %Y" in UTC.
  bool dated_system = false;
  std::string date;
  // Gemma: whether a system message is accepted (Gemma 3) or refused (Gemma 2's template raises).
  bool system_role = true;
  // The BOS token's text, which the Llama 3 and Gemma templates write first (the tokenizer maps it back
  // to the BOS id; remedi never adds BOS on its own). Set from the model's tokenizer by the caller.
  std::string bos;
  std::string description;  // what was found, for errors, /v1/models and the start-up line
};

// The kind and details of a template's text (a Jinja source as tokenizer_config.json or GGUF hold
// it); Kind::None with a description saying why when it is not one of the kinds above.
ChatTemplate chat_template_from_text(const std::string& text);

// Reads the model's template: `tokenizer.chat_template` of a .gguf file, or "chat_template" of the
// tokenizer_config.json next to an HF model; `forced` ("chatml", "llama3", "gemma", "phi3", or
// "auto"/"" to read the model) overrides it. Throws ApiError naming --chat-template for another
// `forced` value.
ChatTemplate detect_chat_template(const std::string& model_path, const std::string& forced);

// The prompt of a chat request's messages [{role: system|user|assistant, content: string}], ending
// with the assistant's turn opened. Throws ApiError(400, "messages") for a model without a template
// or messages its template refuses (a system message for Gemma 2, roles that do not alternate for
// Gemma).
std::string render_chat(const ChatTemplate& chat_template, const nlohmann::json& messages);

// The token text that ends an assistant turn (<|im_end|>, <|eot_id|>, <end_of_turn>, <|end|>), at
// which generation stops; empty for Kind::None.
std::string end_of_turn(const ChatTemplate& chat_template);

}  // namespace remedi::serve
