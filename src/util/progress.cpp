#include "util/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace remedi {

ProgressBar::ProgressBar(std::string label, std::int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(std::max<std::int64_t>(total, 0)),
      enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string ProgressBar::format_duration(double seconds) {
  const std::int64_t total = std::llround(std::max(0.0, seconds));
  const std::int64_t hours = total / 3600;
  const std::int64_t minutes = (total / 60) % 60;
  const std::int64_t secs = total % 60;
  char buffer[32];
  if (hours > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  }
  return buffer;
}

void ProgressBar::advance(std::int64_t steps, const std::string& status) {
  if (!enabled_ || finished_) return;
  done_ = std::min(total_, done_ + steps);
  status_ = status;
  draw(false);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  draw(true);
  if (terminal_) std::cerr << "\n";
  std::cerr.flush();
  finished_ = true;
}

void ProgressBar::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (!force) {
    if (terminal_ && since_draw < 0.2 && done_ < total_) return;
    if (!terminal_) {
      const std::int64_t step = std::max<std::int64_t>(1, total_ / 10);
      const bool crossed = last_drawn_done_ < 0 || done_ / step != last_drawn_done_ / step;
      if (!crossed && since_draw < 30.0) return;
    }
  } else if (!terminal_ && done_ == last_drawn_done_) {
    return;
  }
  last_draw_ = now;
  last_drawn_done_ = done_;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  std::ostringstream line;
  line << label_ << " " << done_ << "/" << total_ << " ["
       << std::string(static_cast<std::size_t>(filled), '#')
       << std::string(static_cast<std::size_t>(kWidth - filled), '.') << "] " << format_duration(elapsed);
  if (done_ > 0 && done_ < total_) line << "<" << format_duration(elapsed / fraction - elapsed);
  if (!status_.empty()) line << " " << status_;
  if (terminal_) {
    std::cerr << "\r" << line.str() << "\033[K";
  } else {
    std::cerr << line.str() << "\n";
  }
  std::cerr.flush();
}

}  // namespace remedi
