// CSV/TSV tables with a header row, quoted as Python's csv module and pandas write them: a field
// may be wrapped in double quotes, inside which the delimiter and line breaks are literal and ""
// stands for one quote. Blank lines are skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::data {

struct DelimitedTable {
  std::string file;  // for error messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each has header.size() fields
  std::vector<std::size_t> row_lines;          // 1-based line where each row starts

  // The column named `name`; throws remedi::Error naming the file if there is none.
  std::size_t column(std::string_view name) const;
  // "line 12" for row `row`, for error messages.
  std::string where(std::size_t row) const;
};

// Throws remedi::Error(file, "line N", ...) on an unclosed quote or a row whose field count differs
// from the header's.
DelimitedTable parse_delimited(std::string_view text, char delimiter, const std::string& file);
DelimitedTable read_delimited(const std::string& path, char delimiter);

}  // namespace remedi::data
