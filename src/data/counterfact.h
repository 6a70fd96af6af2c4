// CounterFact (METHOD §3.2) -> mediation samples. Two input layouts:
//  * ROME's `counterfact.json`: a JSON array of records with `requested_rewrite`,
//    `paraphrase_prompts`, `generation_prompts`, ... (the layout the original converts);
//  * the EasyEdit/MEND split files (`counterfact-train.json`, `-edit.json`, `-val.json`): flat
//    records {case_id, prompt, subject, target_new, ground_truth, rephrase_prompt, locality_prompt,
//    locality_ground_truth}. Each is first rebuilt into the ROME layout (see
//    rome_record_from_easyedit) and then converted the same way. docs/DATA.md lists what is lost.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::data {

// The attribute a context states about `entity` (METHOD §3.2): the text after the entity's last
// mention, trimmed of ",-;: " ("Dolomiten is written in Russian" -> "is written in Russian"); the whole
// context, trimmed, when the entity is not in it.
std::string attribute_after_entity(const std::string& context, const std::string& entity);

// Steps 1-3 of the cleaning: the last line, trimmed; a "Category:" title replaced by the entity;
// the text after the last generator artifact (" (b. ", "(tr. ", "(min. ").
std::string strip_paraphrase_junk(const std::string& entity, const std::string& paraphrase);

// Steps 5-9 on the step-3 string `prompt` already split into `sentences` (step 4). nullopt where
// the original stops on an assertion: more than one sentence break cuts through the entity, or a
// lone sentence lacks the entity (also for no sentences at all).
std::optional<std::string> clean_paraphrase_sentences(const std::string& entity, const std::string& prompt,
                                                      std::vector<std::string> sentences);

// The paraphrase-prompt cleaning of METHOD §3.2 (steps 1-9) for entity `entity` and raw paraphrase
// `paraphrase`. Where the original would stop on an assertion (more than one sentence break cuts
// through the entity; a single sentence without the entity), this returns the step-3 string, the
// same fallback the original uses when the cleaned prompt lost the entity.
std::string clean_paraphrase_prompt(const std::string& entity, const std::string& paraphrase);

// One ROME-layout record -> sample. `file` and `where` name the record in errors.
MediationSample convert_counterfact_record(const Json& record, const std::string& file,
                                           const std::string& where);

// An EasyEdit record rebuilt into the ROME layout: requested_rewrite.prompt is `prompt` with the
// subject replaced by "{}"; target_new/target_true carry only `str`; paraphrase_prompts holds
// the one `rephrase_prompt`; neighborhood_prompts holds the one `locality_prompt`. Fields the
// split files do not have (relation_id, Wikidata ids, generation_prompts, attribute_prompts) are
// absent.
Json rome_record_from_easyedit(const Json& record, const std::string& file, const std::string& where);

// Loads and converts `path`: a ROME `counterfact.json` or an EasyEdit split file (rows in file
// order), or a folder holding the EasyEdit split files counterfact-{train,edit,val}.json, whose
// rows are merged and ordered by case_id, which restores the order of ROME's counterfact.json.
std::vector<MediationSample> load_counterfact(const std::string& path);

}  // namespace remedi::data
