#include "eval/early_stopping.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace remedi::eval {
namespace {

TEST(EarlyStopping, SpecVector) {
  // METHOD §7.4: patience 5, minimising: −1 → no stop; 0, 1, 2, 3, 4 → no stop; then 0 → stop.
  EarlyStopping tracker(5);
  EXPECT_EQ(tracker.best(), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(tracker.improved());
  EXPECT_FALSE(tracker.update(-1));
  EXPECT_TRUE(tracker.improved());
  EXPECT_EQ(tracker.best(), -1.0);
  for (double value : {0.0, 1.0, 2.0, 3.0, 4.0}) {
    EXPECT_FALSE(tracker.update(value)) << value;
    EXPECT_FALSE(tracker.improved());
  }
  EXPECT_EQ(tracker.bad_epochs(), 5U);
  EXPECT_TRUE(tracker.update(0));
  EXPECT_EQ(tracker.bad_epochs(), 6U);
  EXPECT_EQ(tracker.best(), -1.0);
}

TEST(EarlyStopping, TrainingPatienceTwoStopsAfterThreeBadEpochs) {
  EarlyStopping tracker(2);
  EXPECT_FALSE(tracker.update(1.0));
  EXPECT_FALSE(tracker.update(0.5));
  EXPECT_TRUE(tracker.improved());
  EXPECT_FALSE(tracker.update(0.5));  // equal is not an improvement
  EXPECT_FALSE(tracker.update(0.7));
  EXPECT_TRUE(tracker.update(std::nan("")));  // NaN never improves
}

TEST(EarlyStopping, Maximising) {
  EarlyStopping tracker(0, EarlyStopping::Direction::kMaximize);
  EXPECT_EQ(tracker.best(), -std::numeric_limits<double>::infinity());
  EXPECT_FALSE(tracker.update(0.1));
  EXPECT_FALSE(tracker.update(0.2));
  EXPECT_TRUE(tracker.improved());
  EXPECT_TRUE(tracker.update(0.2));
}

}  // namespace
}  // namespace remedi::eval
