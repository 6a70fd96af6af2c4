// A rule-based English sentence segmenter, the stand-in for spaCy en_core_web_sm's statistical
// sentence boundaries in the CounterFact prompt cleaning (METHOD §3.2 step 4) and the Bias-in-Bios
// abridging (METHOD §3.3 step 2). docs/DEVIATIONS.md lists where it can disagree with spaCy.
//
// A boundary falls after a run of terminal punctuation (. ? ! and the ellipsis …), plus any closing
// quotes or brackets right after it, when whitespace follows and the next word starts like a
// sentence (an upper-case letter or a digit, possibly behind opening quotes or brackets). A period
// is not a boundary when it ends a known abbreviation ("Dr.", "Inc.", "vs.", "e.g."), a single
// upper-case initial ("John D. Rockefeller"), or a dotted acronym ("U.S.", "S.p.A."). A blank line
// (two line breaks) is always a boundary. Decimals ("98.4") never split, having no space after the
// period.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace remedi::data {

// The sentences of `text` in order, each trimmed of surrounding whitespace; no empty sentences.
std::vector<std::string> split_sentences(std::string_view text);

}  // namespace remedi::data
