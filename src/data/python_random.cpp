#include "data/python_random.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_set>

namespace remedi::data {

// The constants are those of Matsumoto & Nishimura's MT19937 reference code, which CPython uses.
void PythonRandom::init_genrand(std::uint32_t seed) {
  state_[0] = seed;
  for (std::size_t i = 1; i < kStateSize; ++i) {
    state_[i] = 1812433253U * (state_[i - 1] ^ (state_[i - 1] >> 30U)) + static_cast<std::uint32_t>(i);
  }
  index_ = kStateSize;
}

PythonRandom::PythonRandom(std::uint64_t seed) {
  // CPython splits the seed into 32-bit words, least significant first, at least one word.
  std::vector<std::uint32_t> key{static_cast<std::uint32_t>(seed)};
  if ((seed >> 32U) != 0) key.push_back(static_cast<std::uint32_t>(seed >> 32U));

  init_genrand(19650218U);
  std::size_t i = 1;
  std::size_t j = 0;
  for (std::size_t k = std::max(kStateSize, key.size()); k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30U)) * 1664525U)) + key[j] +
                static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (std::size_t k = kStateSize - 1; k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30U)) * 1566083941U)) -
                static_cast<std::uint32_t>(i);
    ++i;
    if (i >= kStateSize) {
      state_[0] = state_[kStateSize - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000U;
  index_ = kStateSize;
}

void PythonRandom::twist() {
  constexpr std::size_t kShift = 397;
  for (std::size_t i = 0; i < kStateSize; ++i) {
    const std::uint32_t y = (state_[i] & 0x80000000U) | (state_[(i + 1) % kStateSize] & 0x7FFFFFFFU);
    state_[i] = state_[(i + kShift) % kStateSize] ^ (y >> 1U) ^ ((y & 1U) != 0 ? 0x9908B0DFU : 0U);
  }
  index_ = 0;
}

std::uint32_t PythonRandom::next_uint32() {
  if (index_ >= kStateSize) twist();
  std::uint32_t y = state_[index_++];
  y ^= y >> 11U;
  y ^= (y << 7U) & 0x9D2C5680U;
  y ^= (y << 15U) & 0xEFC60000U;
  y ^= y >> 18U;
  return y;
}

std::uint64_t PythonRandom::getrandbits(int bits) {
  if (bits <= 0) return 0;
  if (bits <= 32) return next_uint32() >> (32 - bits);
  // Wider draws take the low word first.
  const std::uint64_t low = next_uint32();
  const std::uint64_t high = next_uint32() >> (64 - bits);
  return (high << 32U) | low;
}

std::uint64_t PythonRandom::randbelow(std::uint64_t n) {
  const int bits = static_cast<int>(std::bit_width(n));
  std::uint64_t r = getrandbits(bits);
  while (r >= n) r = getrandbits(bits);
  return r;
}

std::vector<std::size_t> PythonRandom::sample_indices(std::size_t population_size, std::size_t k) {
  // CPython picks between a shrinking pool and rejection against a set of chosen indices by
  // comparing the population size with an estimate of the set's memory; the draws differ.
  std::size_t set_size = 21;
  if (k > 5) {
    set_size += static_cast<std::size_t>(
        std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
  }
  std::vector<std::size_t> chosen;
  chosen.reserve(k);
  if (population_size <= set_size) {
    std::vector<std::size_t> pool(population_size);
    for (std::size_t i = 0; i < population_size; ++i) pool[i] = i;
    for (std::size_t i = 0; i < k; ++i) {
      const auto j = static_cast<std::size_t>(randbelow(population_size - i));
      chosen.push_back(pool[j]);
      pool[j] = pool[population_size - i - 1];
    }
    return chosen;
  }
  std::unordered_set<std::size_t> selected;
  for (std::size_t i = 0; i < k; ++i) {
    auto j = static_cast<std::size_t>(randbelow(population_size));
    while (selected.contains(j)) j = static_cast<std::size_t>(randbelow(population_size));
    selected.insert(j);
    chosen.push_back(j);
  }
  return chosen;
}

}  // namespace remedi::data
