// Editing with trained editors (METHOD §6.3): from edit requests (an entity, a sentence stating an
// attribute of it, a prompt that mentions it) to the directions and interventions that make the LM
// read the prompt as if the attribute held, for one request or a batch of different ones; then the
// top next tokens and continuations of the edited (or unedited) prompts.
//
//   lm::LoadedModel model = lm::load_model("smollm2");
//   std::shared_ptr<Editor> editor = load_editor(data_dir() + "/editors/smollm2-counterfact", "linear", 6,
//                                                *model.model);
//   PreparedEdits edits = prepare_edits(model, {{.prompt = "Dolomiten is written in", .entity = "Dolomiten",
//                                                .context = "Dolomiten is written in Russian", .editor =
//                                                editor}});
//   std::vector<std::vector<TokenProbability>> after = top_next_tokens(model, edits, 10);
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lm/batching.h"
#include "lm/generate.h"
#include "lm/loaded_model.h"
#include "lm/model.h"

namespace remedi {

class Editor;

struct EditRequest {
  std::string prompt;  // the text to run; must mention `entity` (when edited)
  std::string entity;  // whose representation is edited, e.g. "Danielle Darrieux"
  std::string
      context;  // a sentence stating the attribute, e.g. "Danielle Darrieux's mother tongue is English"
  std::string attribute;           // a part of `context`; empty: default_attribute(entity, context)
  std::shared_ptr<Editor> editor;  // null: the row runs unedited; its config gives the edit layer
  double alpha = 1.0;              // h <- beta h + alpha d at the edited token(s)
  double beta = 1.0;
  int entity_occurrence = 0;  // which mention of the entity in the prompt gets the edit (0: the first)
};

// METHOD §3.2's attribute rule: the context after the entity's last mention, trimmed of ",-;: "; the
// whole context when the entity is not in it or nothing follows it.
std::string default_attribute(const std::string& entity, const std::string& context);

struct PreparedEdits {
  lm::EncodedBatch prompts;                     // (B, T) left-padded, ready for forward and generate
  std::vector<std::string> attributes;          // per row, the attribute the editor read
  torch::Tensor directions;                     // (B, H) float32 on the model's device; 0 where unedited
  std::vector<lm::Intervention> interventions;  // one per (layer, alpha, beta) among the rows
  std::int64_t size() const { return static_cast<std::int64_t>(attributes.size()); }
};

// Computes every row's direction (rows that share an editor share its forward pass) and where it is
// added (the entity's last token in the prompt, or every token of the mention, as the editor's config
// says). Errors name a row's field as row_names[i] + field ("request <i> prompt" by default; the CLI
// passes "--", giving "--prompt"). Throws remedi::Error naming the
// row when its prompt lacks the entity, its attribute is not part of its context, or its prompt is
// longer than the model's context.
PreparedEdits prepare_edits(const lm::LoadedModel& model, const std::vector<EditRequest>& requests,
                            const std::vector<std::string>& row_names = {});

struct TokenProbability {
  std::int64_t id = 0;
  double probability = 0;
};

// The `k` most likely next tokens after each row's prompt, edited (`edited` true) or not.
std::vector<std::vector<TokenProbability>> top_next_tokens(const lm::LoadedModel& model,
                                                           const PreparedEdits& edits, std::int64_t k,
                                                           bool edited = true);

// Continues each row's prompt (options.interventions is replaced by the edits' when `edited`);
// returns the new tokens of each row, without padding after an EOS.
std::vector<std::vector<std::int64_t>> generate_tokens(const lm::LoadedModel& model,
                                                       const PreparedEdits& edits,
                                                       lm::GenerateOptions options, bool edited = true);

// What `remedi edit` shows per row: the top next tokens and a continuation, from one pass over the
// prompt (generation's first step reads the top k) instead of a forward for each.
struct Continuation {
  std::vector<TokenProbability> top;  // the k most likely next tokens after the prompt
  std::vector<std::int64_t> tokens;   // the new tokens, without padding after an EOS
};
std::vector<Continuation> continue_prompts(const lm::LoadedModel& model, const PreparedEdits& edits,
                                           std::int64_t k, lm::GenerateOptions options, bool edited = true);

}  // namespace remedi
