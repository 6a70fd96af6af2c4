// The data sets by name, as the command line names them, with their default input files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::data {

struct DatasetOptions {
  std::string cmudict_path;     // McRae articles from this cmudict file; empty: spelling rules
  std::uint64_t seed = 123456;  // McRae pair shuffle and draws; synthetic Bias-in-Bios names
};

// "counterfact", "biosbias", "mcrae", "winoventi", and "samples" (an already converted file).
const std::vector<std::string>& dataset_names();

// The input `name` reads when no file is given, under `data_dir`: counterfact/ (the EasyEdit
// split files), biasinbios-samples/, mcrae/CONCS_FEATS_concstats_brm.txt,
// winoventi/winoventi_bert_large_final.tsv. "samples" has no default: throws remedi::Error.
std::string default_dataset_path(const std::string& name, const std::string& data_dir);

// Loads and converts `path` as data set `name`. Throws remedi::Error for an unknown name, a missing
// file or bad contents.
std::vector<MediationSample> load_dataset(const std::string& name, const std::string& path,
                                          const DatasetOptions& options = {});

}  // namespace remedi::data
