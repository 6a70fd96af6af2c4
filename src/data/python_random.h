// Python's `random` module, bit for bit: the Mersenne Twister seeded as random.seed(int) seeds it,
// getrandbits, and the draws shuffle() and sample() make. The McRae converter re-seeds Python's
// generator with 123456 and shuffles and samples from lists whose order we reproduce, so with this
// generator the C++ conversion picks exactly the concepts and features the original picked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace remedi::data {

class PythonRandom {
 public:
  // random.seed(seed) for an int seed (its absolute value's 32-bit words feed init_by_array).
  explicit PythonRandom(std::uint64_t seed);

  std::uint32_t next_uint32();
  // random.getrandbits(bits), 0 <= bits <= 64.
  std::uint64_t getrandbits(int bits);
  // random._randbelow(n): uniform in [0, n) by rejection on n.bit_length() bits; n > 0.
  std::uint64_t randbelow(std::uint64_t n);

  // random.shuffle(items).
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i-- > 1;) {
      const auto j = static_cast<std::size_t>(randbelow(i + 1));
      T held = std::move(items[i]);  // not std::swap: also serves std::vector<bool>
      items[i] = std::move(items[j]);
      items[j] = std::move(held);
    }
  }

  // random.sample(population, k) for a population of `population_size` items: the indices of the
  // chosen items in selection order. Requires k <= population_size.
  std::vector<std::size_t> sample_indices(std::size_t population_size, std::size_t k);

 private:
  static constexpr std::size_t kStateSize = 624;
  void init_genrand(std::uint32_t seed);
  void twist();

  std::array<std::uint32_t, kStateSize> state_{};
  std::size_t index_ = kStateSize;
};

}  // namespace remedi::data
