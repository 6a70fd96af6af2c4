// Readers for the fixtures written by tests/reference/*_spacy.py: spaCy en_core_web_sm sentence
// spans ([start, end) in code points) of texts that live in the shared data.
#pragma once

#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::test {

std::vector<data::Json> read_jsonl_fixture(const std::string& path);

// The substrings of `text` that `spans` (a JSON array of [start, end) code-point pairs) select.
std::vector<std::string> spans_to_sentences(const std::string& text, const data::Json& spans);

}  // namespace remedi::test
