// `remedi tokenize --model PATH TEXT`: how the model's tokenizer cuts TEXT: one row per token with
// its id, its [start, end) span in code points of TEXT, and the bytes it stands for (escaped so
// that spaces, control characters and fragments of multi-byte characters are visible). The tokens
// are what the model reads: with the special tokens the tokenizer adds around a text (a BOS for
// Llama-3 or Gemma, nothing for GPT-2 or SmolLM2; span [0, 0)), as every command's model input has
// them; --no-special-tokens shows the text's own tokens only. --json prints one object instead.
// PATH: a .gguf file, a tokenizer.json, or an HF folder. TEXT "-" reads standard input.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "tok/tokenizer.h"
#include "util/utf8.h"

namespace remedi::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool json = false;
  bool no_special_tokens = false;
};

// Printable characters stay; quotes, backslashes, control characters and bytes that are not a
// whole UTF-8 character are escaped.
std::string escaped(const std::string& bytes) {
  std::string out;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const DecodedCodePoint decoded = decode_utf8_at(bytes, pos);
    const char32_t c = decoded.code_point;
    if (!decoded.valid || c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
      if (decoded.valid && c == '\n') {
        out += "\\n";
      } else if (decoded.valid && c == '\t') {
        out += "\\t";
      } else if (decoded.valid && c == '\r') {
        out += "\\r";
      } else {
        for (int k = 0; k < decoded.length; ++k) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(bytes[pos + k]));
          out += hex;
        }
      }
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out.append(bytes, pos, decoded.length);
    }
    pos += decoded.length;
  }
  return "\"" + out + "\"";
}

void run(const TokenizeArgs& args) {
  std::string text = args.text;
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(args.model);
  const tok::Encoding encoding = tokenizer.encode(text, /*add_special_tokens=*/!args.no_special_tokens);
  if (args.json) {
    nlohmann::json out;
    out["model"] = args.model;
    out["text"] = text;
    out["ids"] = encoding.ids;
    out["tokens"] = nlohmann::json::array();
    out["offsets"] = nlohmann::json::array();
    for (std::size_t i = 0; i < encoding.ids.size(); ++i) {
      out["tokens"].push_back(tokenizer.token_string(encoding.ids[i]));
      out["offsets"].push_back({encoding.offsets[i].start, encoding.offsets[i].end});
    }
    out["count"] = encoding.ids.size();
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::printf("%5s %8s  %-12s %s\n", "index", "id", "span", "token");
  for (std::size_t i = 0; i < encoding.ids.size(); ++i) {
    const std::int64_t id = encoding.ids[i];
    const std::string span = "[" + std::to_string(encoding.offsets[i].start) + ", " +
                             std::to_string(encoding.offsets[i].end) + ")";
    std::printf("%5zu %8lld  %-12s %s%s\n", i, static_cast<long long>(id), span.c_str(),
                escaped(tokenizer.token_bytes(id)).c_str(), tokenizer.is_special(id) ? "  (special)" : "");
  }
  std::printf("%zu tokens, %lld characters\n", encoding.ids.size(),
              static_cast<long long>(tok::utf8_length(text)));
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand("tokenize", "Show the tokens, ids and character spans of a text");
  cmd->add_option("--model", args->model, "A .gguf file, a tokenizer.json, or an HF folder")->required();
  cmd->add_option("text", args->text, "The text to tokenize (\"-\" reads standard input)")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object (ids, tokens, offsets)");
  cmd->add_flag("--no-special-tokens", args->no_special_tokens,
                "Leave out the special tokens (BOS, ...) the tokenizer adds around a model's input");
  cmd->callback([args] { run(*args); });
}

}  // namespace remedi::cli
