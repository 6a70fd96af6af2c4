// FNV-1a, 64-bit: a small stable hash for fingerprints and cache keys (not for security).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace remedi {

inline constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;

inline std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ULL;
  }
  return hash;
}

// Hashes `text` followed by a separator byte, so ("ab", "c") and ("a", "bc") differ.
inline std::uint64_t fnv1a_field(std::uint64_t hash, std::string_view text) {
  const unsigned char separator = 0xff;
  return fnv1a(fnv1a(hash, text.data(), text.size()), &separator, 1);
}

inline std::string hex64(std::uint64_t value) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(value));
  return hex;
}

}  // namespace remedi
