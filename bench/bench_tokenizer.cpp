// Encoding throughput of the byte-level BPE tokenizer: tokens/s and MB/s over a few MB of text,
// line by line with an empty piece cache (cold), again with the cache filled (warm), and as one
// string. Usage: bench_tokenizer [model (.gguf, tokenizer.json, HF folder)] [text files...]
// (defaults: the fetched SmolLM2 GGUF; the CounterFact and Bias in Bios files under $REMEDI_DATA, else
// the repository's data/).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tok/tokenizer.h"
#include "util/error.h"
#include "util/progress.h"
#include "util/read_file.h"

namespace {

std::string default_model() {
  const char* home = std::getenv("REMEDI_HOME");
  const std::string folder = home != nullptr ? home : std::string(std::getenv("HOME")) + "/.cache/remedi";
  return folder + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::string data_dir() {
  if (const char* env = std::getenv("REMEDI_DATA")) return env;
  // This file is <checkout>/bench/bench_tokenizer.cpp; the data sets live in <checkout>/data.
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data").string();
}

struct Pass {
  std::size_t tokens = 0;
  double seconds = 0;
};

Pass encode_lines(const remedi::tok::Tokenizer& tokenizer, const std::vector<std::string>& lines) {
  Pass pass;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& line : lines) pass.tokens += tokenizer.encode(line).ids.size();
  pass.seconds = remedi::seconds_since(start);
  return pass;
}

void report(const char* name, const Pass& pass, std::size_t bytes) {
  std::cout << name << ": " << pass.tokens << " tokens in " << pass.seconds
            << " s = " << static_cast<double>(pass.tokens) / pass.seconds / 1e6 << " M tokens/s, "
            << static_cast<double>(bytes) / pass.seconds / 1e6 << " MB/s\n";
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string model = argc > 1 ? argv[1] : default_model();
    std::vector<std::string> files;
    for (int i = 2; i < argc; ++i) files.emplace_back(argv[i]);
    if (files.empty()) {
      files = {data_dir() + "/counterfact/counterfact-edit.json",
               data_dir() + "/biasinbios-samples/accountant_complete.csv"};
    }
    std::string text;
    for (const std::string& file : files) text += remedi::read_text_file(file);
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) lines.push_back(line + "\n");

    auto start = std::chrono::steady_clock::now();
    const remedi::tok::Tokenizer tokenizer = remedi::tok::Tokenizer::load(model);
    std::cout << "model " << model << ": loaded in " << remedi::seconds_since(start) << " s, vocab "
              << tokenizer.vocab_size() << "\ntext " << text.size() << " bytes, " << lines.size()
              << " lines\n";
    report("lines, cold cache", encode_lines(tokenizer, lines), text.size());
    report("lines, warm cache", encode_lines(tokenizer, lines), text.size());
    report("one string, warm ", encode_lines(tokenizer, {text}), text.size());
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenizer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
