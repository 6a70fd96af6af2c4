#include "spacy_fixtures.h"

#include <sstream>

#include "data/text.h"
#include "test_support.h"
#include "util/utf8.h"

namespace remedi::test {

std::vector<data::Json> read_jsonl_fixture(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::vector<data::Json> records;
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) records.push_back(data::Json::parse(line));
  }
  return records;
}

std::vector<std::string> spans_to_sentences(const std::string& text, const data::Json& spans) {
  // Byte offset of every code point, plus the end.
  std::vector<std::size_t> offsets;
  for (std::size_t pos = 0; pos < text.size(); pos += remedi::decode_utf8_at(text, pos).length)
    offsets.push_back(pos);
  offsets.push_back(text.size());
  std::vector<std::string> sentences;
  for (const data::Json& span : spans) {
    const std::size_t begin = offsets.at(span[0].get<std::size_t>());
    const std::size_t end = offsets.at(span[1].get<std::size_t>());
    sentences.push_back(text.substr(begin, end - begin));
  }
  return sentences;
}

}  // namespace remedi::test
