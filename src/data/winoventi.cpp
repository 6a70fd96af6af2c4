#include "data/winoventi.h"

#include "data/text.h"
#include "util/error.h"

namespace remedi::data {

namespace {

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// The source record keeps every column; whole numbers become JSON integers, as the original's
// table reader (pandas) types them.
Json source_record(const DelimitedTable& table, std::size_t row) {
  Json source;
  for (std::size_t column = 0; column < table.header.size(); ++column) {
    const std::string& cell = table.rows[row][column];
    const bool whole_number =
        !cell.empty() && cell.size() < 18 && cell.find_first_not_of("0123456789") == std::string::npos;
    source[table.header[column]] = whole_number ? Json(std::stoll(cell)) : Json(cell);
  }
  return source;
}

}  // namespace

std::vector<MediationSample> convert_winoventi(const DelimitedTable& table) {
  const std::size_t word_column = table.column("Word");
  const std::size_t masked_column = table.column("masked_prompt");
  const std::size_t biased_column = table.column("biased_word_context");
  const std::size_t adversarial_column = table.column("adversarial_word_context");
  const std::size_t target_column = table.column("target");
  const std::size_t incorrect_column = table.column("incorrect");

  std::vector<MediationSample> samples;
  for (std::size_t row = 0; row < table.rows.size(); ++row) {
    const std::vector<std::string>& cells = table.rows[row];
    const std::string& word = cells[word_column];
    const std::string& masked_prompt = cells[masked_column];
    if (word.empty()) throw Error(table.file, table.where(row) + ": Word", "is empty");

    const std::vector<std::string> parts = split_on(masked_prompt, ". ");
    if (parts.size() != 2 || count_occurrences(masked_prompt, word) != 2) continue;
    const std::string& context = parts[0];
    const std::size_t first_mention = context.find(word);
    if (first_mention == std::string::npos) continue;
    const std::string after_entity = context.substr(first_mention);
    if (!contains(after_entity, cells[biased_column]) && !contains(after_entity, cells[adversarial_column]))
      continue;

    const std::vector<std::string> context_parts = split_on(context, word);
    if (context_parts.size() != 2 || !contains(parts[1], word)) {
      throw Error(table.file, table.where(row) + ": masked_prompt",
                  "the Word must occur once in each of the two sentences");
    }
    MediationSample sample;
    sample.id = word + "_" + cells[target_column] + "_" + cells[incorrect_column];
    sample.entity = word;
    sample.context = context;
    sample.prompt = strip_chars(replace_all(parts[1], "[MASK]", ""), ". ");
    sample.attribute = strip_chars(context_parts[1], ". ");
    sample.target_mediated = cells[target_column];
    sample.target_unmediated = cells[incorrect_column];
    sample.source = source_record(table, row);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<MediationSample> load_winoventi(const std::string& path) {
  return convert_winoventi(read_delimited(path, '\t'));
}

}  // namespace remedi::data
