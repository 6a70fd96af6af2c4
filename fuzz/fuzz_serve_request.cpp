// libFuzzer target: request bodies of `remedi serve` (serve/api.h, no libtorch): parse_request for
// /v1/completions and /v1/chat/completions (with and without the ChatML template), then the response
// and chunk JSON of an accepted request. The first byte chooses the endpoint and template.
#include <string>

#include "serve/api.h"

namespace {

// As the server writes its responses (src/serve/server.cpp): a message may quote invalid UTF-8 from
// the body, which becomes U+FFFD rather than an exception.
std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  namespace serve = remedi::serve;
  const bool chat = (data[0] & 1) != 0;
  // bits 1-3 of the first byte: no template, or one of the kinds with their options
  serve::ChatTemplate chat_template;
  switch ((data[0] >> 1) & 7) {
    case 1:
      chat_template.kind = serve::ChatTemplate::Kind::ChatML;
      break;
    case 2:
      chat_template.kind = serve::ChatTemplate::Kind::ChatML;
      chat_template.default_system = "You are a helpful assistant.";
      break;
    case 3:
      chat_template.kind = serve::ChatTemplate::Kind::Llama3;
      chat_template.dated_system = true;
      chat_template.date = "26 Jul 2024";
      chat_template.bos = "<|begin_of_text|>";
      break;
    case 4:
      chat_template.kind = serve::ChatTemplate::Kind::Gemma;
      chat_template.system_role = false;
      chat_template.bos = "<bos>";
      break;
    case 5:
      chat_template.kind = serve::ChatTemplate::Kind::Gemma;
      break;
    case 6:
      chat_template.kind = serve::ChatTemplate::Kind::Phi3;
      break;
    default:
      break;
  }
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const serve::CompletionRequest request = serve::parse_request(body, chat, chat_template);
    serve::CompletionResult result;
    result.text = "x";
    result.finish_reason = "length";
    result.steps.push_back({{1, "x", -0.5}, {{1, "x", -0.5}, {2, "y", -1.5}}});
    (void)dump(serve::response_json(request, result, "cmpl-1", 0, request.model));
    (void)dump(
        serve::chunk_json(request, "x", result.steps, std::string("stop"), "cmpl-1", 0, request.model, true));
  } catch (const serve::ApiError& e) {
    (void)dump(e.json());
  }
  return 0;
}
