// WinoVenti (METHOD §3.5): the commonsense-exception TSV -> mediation samples. No experiment uses it;
// it is supported because the original loader is.
#pragma once

#include <string>
#include <vector>

#include "data/delimited.h"
#include "data/sample.h"

namespace remedi::data {

// Keeps the rows whose masked_prompt splits on ". " into exactly two parts, mentions the Word
// exactly twice, and has the biased or adversarial context string after the Word's first
// occurrence in the first part; converts each kept row. Throws remedi::Error for missing columns
// and for kept rows the conversion cannot handle (the original stops on an assertion there).
std::vector<MediationSample> convert_winoventi(const DelimitedTable& table);
std::vector<MediationSample> load_winoventi(const std::string& path);

}  // namespace remedi::data
