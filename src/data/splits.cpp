#include "data/splits.h"

#include <cmath>
#include <optional>
#include <string>

#include "data/python_random.h"
#include "data/text.h"
#include "util/error.h"

namespace remedi::data {

namespace {

[[noreturn]] void bad_split(std::string_view spec, const std::string& reason) {
  throw Error("<argument>", "split \"" + std::string(spec) + "\"", reason);
}

// Python's round(): to the nearest integer, ties to even.
double round_half_even(double value) { return std::nearbyint(value); }

// One slice bound resolved against `row_count`; nullopt when the bound is omitted.
std::optional<std::size_t> resolve_bound(std::string_view whole_spec, std::string_view text,
                                         std::size_t row_count) {
  const std::string bound = strip_whitespace(text);
  if (bound.empty()) return std::nullopt;
  const bool percent = bound.back() == '%';
  const std::string number = percent ? bound.substr(0, bound.size() - 1) : bound;
  const bool negative = number.starts_with('-');
  const std::string digits = negative ? number.substr(1) : number;
  if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) {
    bad_split(whole_spec, "bound \"" + bound + "\" is not a whole number or percentage");
  }
  const auto magnitude = static_cast<double>(std::stoll(digits));
  if (percent && magnitude > 100) bad_split(whole_spec, "percentage \"" + bound + "\" is over 100%");
  double value = percent ? round_half_even(magnitude * static_cast<double>(row_count) / 100.0) : magnitude;
  // Python's -0 is 0: train[:-0] selects nothing and train[-0:] everything, as in a Python slice.
  if (negative && magnitude > 0) value = static_cast<double>(row_count) - value;
  if (value < 0) return 0;
  return static_cast<std::size_t>(std::min(value, static_cast<double>(row_count)));
}

void append_piece(std::string_view whole_spec, std::string_view piece, std::size_t row_count,
                  std::vector<std::size_t>& rows) {
  const std::string text = strip_whitespace(piece);
  const std::size_t open = text.find('[');
  const std::string name = strip_whitespace(text.substr(0, open));
  if (name != "train")
    bad_split(whole_spec, "unknown split \"" + name + "\" (a converted data set has only \"train\")");
  std::size_t begin = 0;
  std::size_t end = row_count;
  std::size_t step = 1;
  if (open != std::string::npos) {
    if (!text.ends_with("]")) bad_split(whole_spec, "expected \"]\" at the end of \"" + text + "\"");
    const std::string slice = text.substr(open + 1, text.size() - open - 2);
    const std::size_t colon = slice.find(':');
    if (colon == std::string::npos) bad_split(whole_spec, "expected \"[start:end]\" in \"" + text + "\"");
    const std::size_t second = slice.find(':', colon + 1);
    begin = resolve_bound(whole_spec, slice.substr(0, colon), row_count).value_or(0);
    end = resolve_bound(
              whole_spec,
              slice.substr(colon + 1, second == std::string::npos ? std::string::npos : second - colon - 1),
              row_count)
              .value_or(row_count);
    if (second != std::string::npos) {
      const std::string step_text = strip_whitespace(slice.substr(second + 1));
      if (!step_text.empty()) {
        if (step_text.size() > 9 || step_text.find_first_not_of("0123456789") != std::string::npos ||
            std::stoll(step_text) < 1) {
          bad_split(whole_spec, "step \"" + step_text + "\" is not a positive whole number");
        }
        step = static_cast<std::size_t>(std::stoll(step_text));
      }
    }
  }
  for (std::size_t row = begin; row < end; row += step) rows.push_back(row);
}

}  // namespace

std::vector<std::size_t> select_rows(std::string_view spec, std::size_t row_count) {
  if (strip_whitespace(spec).empty()) bad_split(spec, "is empty");
  std::vector<std::size_t> rows;
  for (const std::string& piece : split_on(spec, "+")) append_piece(spec, piece, row_count, rows);
  return rows;
}

HoldOutSplit hold_out_split(std::size_t row_count, double fraction, std::uint64_t seed) {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw Error("<argument>", "hold-out fraction",
                "must be between 0 and 1, got " + std::to_string(fraction));
  }
  std::vector<std::size_t> permutation(row_count);
  for (std::size_t i = 0; i < row_count; ++i) permutation[i] = i;
  PythonRandom random(seed);
  random.shuffle(permutation);
  const auto validation_count =
      static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(row_count)));
  HoldOutSplit split;
  split.validation.assign(permutation.begin(),
                          permutation.begin() + static_cast<std::ptrdiff_t>(validation_count));
  split.train.assign(permutation.begin() + static_cast<std::ptrdiff_t>(validation_count), permutation.end());
  return split;
}

}  // namespace remedi::data
