#include "data/delimited.h"

#include <algorithm>

#include "util/error.h"
#include "util/read_file.h"

namespace remedi::data {

std::size_t DelimitedTable::column(std::string_view name) const {
  const auto found = std::find(header.begin(), header.end(), name);
  if (found == header.end()) throw Error(file, "header", "has no column \"" + std::string(name) + "\"");
  return static_cast<std::size_t>(found - header.begin());
}

std::string DelimitedTable::where(std::size_t row) const {
  return "line " + std::to_string(row_lines.at(row));
}

DelimitedTable parse_delimited(std::string_view text, char delimiter, const std::string& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte-order mark
  DelimitedTable table;
  table.file = file;
  std::vector<std::string> fields;
  std::string field;
  std::size_t line = 1;
  std::size_t record_line = 1;
  bool quoted = false;
  bool record_has_content = false;

  const auto end_record = [&] {
    fields.push_back(std::move(field));
    field.clear();
    if (record_has_content) {
      if (table.header.empty()) {
        table.header = std::move(fields);
      } else {
        if (fields.size() != table.header.size()) {
          throw Error(file, "line " + std::to_string(record_line),
                      "expected " + std::to_string(table.header.size()) + " fields, found " +
                          std::to_string(fields.size()));
        }
        table.rows.push_back(std::move(fields));
        table.row_lines.push_back(record_line);
      }
    }
    fields.clear();
    record_has_content = false;
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      quoted = true;
      record_has_content = true;
    } else if (c == delimiter) {
      fields.push_back(std::move(field));
      field.clear();
      record_has_content = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_line = line;
    } else {
      field += c;
      record_has_content = true;
    }
  }
  if (quoted) throw Error(file, "line " + std::to_string(record_line), "a quoted field is not closed");
  end_record();
  if (table.header.empty()) throw Error(file, "", "is empty (expected a header row)");
  return table;
}

DelimitedTable read_delimited(const std::string& path, char delimiter) {
  return parse_delimited(read_text_file(path), delimiter, path);
}

}  // namespace remedi::data
