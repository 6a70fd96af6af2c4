// Timing helpers of util/progress.h.
#include "util/progress.h"

#include <gtest/gtest.h>

#include <chrono>

namespace remedi {
namespace {

TEST(Progress, SecondsSinceAndDurations) {
  const auto start = std::chrono::steady_clock::now() - std::chrono::milliseconds(1500);
  const double seconds = seconds_since(start);
  EXPECT_GE(seconds, 1.5);
  EXPECT_LT(seconds, 60.0);
  EXPECT_EQ(ProgressBar::format_duration(75.4), "1:15");
  EXPECT_EQ(ProgressBar::format_duration(3725), "1:02:05");
}

}  // namespace
}  // namespace remedi
