// A progress bar for long work, on stderr: "label  42/100 [#####.....] 0:12<0:17 loss 1.234".
// On a terminal it redraws one line; otherwise (logs, CI) it prints a line at most every 10% or 30 s
// so that captured output stays short.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace remedi {

class ProgressBar {
 public:
  // `enabled` false makes every call a no-op (--quiet, tests).
  ProgressBar(std::string label, std::int64_t total, bool enabled = true);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Advances by `steps` and shows `status` (e.g. "loss 1.234") after the bar.
  void advance(std::int64_t steps = 1, const std::string& status = "");
  // Completes the line (also done by the destructor).
  void finish();

  // "m:ss" or "h:mm:ss".
  static std::string format_duration(double seconds);

 private:
  void draw(bool force);

  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  bool enabled_;
  bool terminal_;
  bool finished_ = false;
  std::string status_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::int64_t last_drawn_done_ = -1;
};

// Wall-clock seconds from `start` to now (for timings and rates).
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace remedi
