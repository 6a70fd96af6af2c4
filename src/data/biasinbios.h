// Bias in Bios (METHOD §3.3) -> mediation samples. Inputs:
//  * the original `BIOS.pkl` from Microsoft's biosbias scripts (a pickled list of dicts with name,
//    raw, start_pos, bio, title, gender, ...), read by the data-only pickle reader (pickle.h);
//  * the LabHC/bias_in_bios CSV layout (columns hard_text, profession, gender), which has neither
//    names nor the first sentence of each bio. Each row is rebuilt into a BIOS.pkl-layout entry
//    with a synthetic name and first sentence (bios_entry_from_labhc_row) and then converted the
//    same way; docs/DEVIATIONS.md records this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/delimited.h"
#include "data/sample.h"
#include "data/sentences.h"

namespace remedi::data {

struct BiosOptions {
  std::size_t limit = 50000;           // entries of the input used, in file order
  std::size_t bio_min_words = 10;      // shorter abridged bios are skipped
  std::size_t sentence_min_words = 3;  // shorter sentences are dropped before abridging
  std::uint64_t name_seed = 123456;    // synthetic names of LabHC rows
  // Step 2's segmenter; replaceable to compare against another one (the tests use spaCy's output).
  std::function<std::vector<std::string>(std::string_view)> sentence_splitter = split_sentences;
};

// Step 2: of the sentences with at least `sentence_min_words` words, the second, the only one if
// just one qualifies, "" if none does.
std::string abridge_bio(const std::vector<std::string>& sentences, std::size_t sentence_min_words);

// Steps 3-8 for one BIOS.pkl-layout entry; false if the entry is skipped. `file` and `where` name
// the entry in errors (missing or mistyped name, raw, title).
bool convert_bios_entry(const Json& entry, const std::string& file, const std::string& where,
                        const BiosOptions& options, MediationSample& sample);

// A LabHC CSV row rebuilt into the BIOS.pkl layout. Name: a first name from a fixed list matching
// the row's gender and a last name, both picked by SplitMix64(seed + row_number); raw: the
// sentence "<First> <Last> is a(n) <profession>." then a space and hard_text; start_pos: the
// length of that first sentence plus the space (code points); bio: hard_text (not scrubbed);
// title: profession; gender: "F"/"M".
Json bios_entry_from_labhc_row(const DelimitedTable& table, std::size_t row, std::uint64_t row_number,
                               std::uint64_t seed);

// `path`: a .pkl/.pickle file (BIOS.pkl), a LabHC .csv file, or a folder whose *.csv files are read
// in name order (row numbers for the synthetic names continue across files).
std::vector<MediationSample> load_biosbias(const std::string& path, const BiosOptions& options = {});

}  // namespace remedi::data
