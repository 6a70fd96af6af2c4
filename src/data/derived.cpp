#include "data/derived.h"

#include <cctype>

#include "data/text.h"
#include "util/error.h"

namespace remedi::data {

namespace {

std::string lowercase_first_unless_entity(const std::string& text, const std::string& entity) {
  if (text.empty() || text.starts_with(entity)) return text;
  std::string result = text;
  result[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(result[0])));
  return result;
}

const std::string& require_unmediated(const MediationSample& sample) {
  if (!sample.target_unmediated) throw Error("<sample " + sample.id + ">", "target_unmediated", "is null");
  return *sample.target_unmediated;
}

}  // namespace

std::string prompt_in_context(const std::string& entity, const std::string& prompt,
                              const std::string& context, const PromptInContextOptions& options) {
  std::string full_prompt = prompt;
  if (options.prompt_prefix)
    full_prompt = *options.prompt_prefix + lowercase_first_unless_entity(prompt, entity);
  std::string full_context = context;
  if (options.context_prefix) {
    full_context = *options.context_prefix + " " + lowercase_first_unless_entity(context, entity);
  }
  full_context = rstrip_chars(full_context, ". ") + ".";
  full_context += options.context_suffix.value_or(" ");
  return full_context + full_prompt;
}

std::string prompt_in_context(const MediationSample& sample, const PromptInContextOptions& options) {
  return prompt_in_context(sample.entity, sample.prompt, sample.context, options);
}

std::string unmediated_context(const MediationSample& sample) {
  return replace_all(sample.context, sample.target_mediated, require_unmediated(sample));
}

std::string unmediated_attribute(const MediationSample& sample) {
  return replace_all(sample.attribute, sample.target_mediated, require_unmediated(sample));
}

void use_attribute_as_context(std::vector<MediationSample>& samples) {
  for (MediationSample& sample : samples) sample.context = sample.attribute;
}

}  // namespace remedi::data
