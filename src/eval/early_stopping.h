// Early-stopping tracker of the training loop (METHOD §7.4): it follows one validation value per
// epoch and says when to stop.
#pragma once

#include <cstddef>

namespace remedi::eval {

class EarlyStopping {
 public:
  enum class Direction { kMinimize, kMaximize };

  // `patience`: how many consecutive non-improving epochs are tolerated; the next one stops.
  explicit EarlyStopping(std::size_t patience, Direction direction = Direction::kMinimize);

  // Records one epoch's value and returns true when training should stop. A value improves only
  // if it is strictly better than the best so far (a NaN never improves); an improvement resets
  // the bad-epoch counter, anything else increments it; stop once the counter exceeds the patience.
  bool update(double value);

  // True exactly when the counter is 0: the last value was a new best (also before any update).
  bool improved() const { return bad_epochs_ == 0; }
  double best() const { return best_; }  // +inf (minimising) or -inf (maximising) before any update
  std::size_t bad_epochs() const { return bad_epochs_; }
  // Puts the tracker back in a saved state (resuming a training run).
  void restore(double best, std::size_t bad_epochs) {
    best_ = best;
    bad_epochs_ = bad_epochs;
  }

 private:
  std::size_t patience_;
  Direction direction_;
  double best_;
  std::size_t bad_epochs_ = 0;
};

}  // namespace remedi::eval
