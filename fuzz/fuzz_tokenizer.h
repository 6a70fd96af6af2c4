// What the tokenizer targets do with a tokenizer that loaded: encode a few texts (ASCII, accents,
// CJK, an emoji, whitespace runs, an invalid UTF-8 byte, text that looks like special tokens) and
// decode the ids back, with and without special tokens, then walk the vocabulary's strings.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tok/tokenizer.h"

namespace remedi::fuzz {

inline void exercise_tokenizer(const remedi::tok::Tokenizer& tokenizer) {
  static const std::vector<std::string> texts = {
      "",
      "Hello world",
      "The Eiffel Tower is in Paris.",
      "  leading and trailing  \n\t",
      "caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x99\x82",
      "bad \xff byte",
      "<|endoftext|><s></s><|im_start|>user\n",
      "1234567890 3.14 $5,000 can't we'll",
  };
  for (const std::string& text : texts) {
    const remedi::tok::Encoding encoding = tokenizer.encode(text);
    (void)tokenizer.decode(encoding.ids);
    (void)tokenizer.decode(encoding.ids, true);
  }
  const std::int64_t shown = std::min<std::int64_t>(tokenizer.vocab_size(), 512);
  std::vector<std::int64_t> ids;
  for (std::int64_t id = 0; id < shown; ++id) {
    (void)tokenizer.token_string(id);
    (void)tokenizer.token_bytes(id);
    (void)tokenizer.is_special(id);
    ids.push_back(id);
  }
  (void)tokenizer.decode(ids);
  for (const std::int64_t id : {tokenizer.bos_id(), tokenizer.eos_id(), tokenizer.pad_id()}) {
    if (id >= 0 && id < tokenizer.vocab_size()) (void)tokenizer.token_string(id);
  }
}

}  // namespace remedi::fuzz
