#include "eval/early_stopping.h"

#include <limits>

namespace remedi::eval {

EarlyStopping::EarlyStopping(std::size_t patience, Direction direction)
    : patience_(patience),
      direction_(direction),
      best_(direction == Direction::kMinimize ? std::numeric_limits<double>::infinity()
                                              : -std::numeric_limits<double>::infinity()) {}

bool EarlyStopping::update(double value) {
  const bool better = direction_ == Direction::kMinimize ? value < best_ : value > best_;
  if (better) {
    best_ = value;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return bad_epochs_ > patience_;
}

}  // namespace remedi::eval
