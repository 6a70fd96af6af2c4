// Strings derived from a sample (METHOD §3.7): the prompt placed after its context, the context with
// the unmediated target, and the --attribute-no-entity preprocessing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::data {

struct PromptInContextOptions {
  std::optional<std::string> context_prefix;
  std::optional<std::string> context_suffix;  // replaces the single space between context and prompt
  std::optional<std::string> prompt_prefix;
};

// "<context>. <prompt>" with the context's own trailing periods and spaces collapsed into one
// period. A prefix lower-cases the first character of what it precedes unless that starts with the
// entity; the context prefix is followed by one space, the prompt prefix by none.
std::string prompt_in_context(const std::string& entity, const std::string& prompt,
                              const std::string& context, const PromptInContextOptions& options = {});
std::string prompt_in_context(const MediationSample& sample, const PromptInContextOptions& options = {});

// Every occurrence of target_mediated replaced by target_unmediated (CounterFact). Throws
// remedi::Error if the sample has no unmediated target.
std::string unmediated_context(const MediationSample& sample);
std::string unmediated_attribute(const MediationSample& sample);

// --attribute-no-entity: context := attribute, so the attribute is encoded without the entity.
void use_attribute_as_context(std::vector<MediationSample>& samples);

}  // namespace remedi::data
