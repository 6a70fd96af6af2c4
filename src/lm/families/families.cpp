// The list of model families. A new family is its file in this folder (a FamilyDescription, see
// lm/family.h) and its entry here.
#include <array>
#include <stdexcept>
#include <string>

#include "lm/family.h"

namespace remedi::lm {

// Defined in the families' files.
extern const FamilyDescription kGpt2Family, kGptJFamily, kNeoXFamily, kLlamaFamily, kQwen2Family,
    kQwen3Family, kOlmo2Family, kGemma2Family, kGemma3Family, kPhi3Family;

namespace {

// In the order error messages list them.
constexpr std::array kFamilies{&kGpt2Family,  &kGptJFamily,  &kNeoXFamily,   &kLlamaFamily,  &kQwen2Family,
                               &kQwen3Family, &kOlmo2Family, &kGemma2Family, &kGemma3Family, &kPhi3Family};

}  // namespace

std::span<const FamilyDescription* const> families() { return kFamilies; }

const FamilyDescription& family_description(Family family) {
  for (const FamilyDescription* description : kFamilies) {
    if (description->name == family.name) return *description;
  }
  throw std::invalid_argument("no model family is named '" + std::string(family.name) + "'");
}

}  // namespace remedi::lm
