// Helpers shared by the subcommands: where data and results live, loading samples by data-set name.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/sample.h"

namespace remedi::cli {

// $REMEDI_DATA, else the shared data folder fixed at build time (REMEDI_DEFAULT_DATA_DIR).
std::string data_dir();

// `flag` if given, else $REMEDI_RESULTS, else "results" (relative to the working directory).
std::string results_dir(const std::string& flag);

struct SampleSource {
  std::string dataset;  // a name from data::dataset_names()
  std::string file;     // empty: the data set's default input under data_dir()
  std::string split;    // e.g. "train[:5000]"; empty: every row
  std::string cmudict;
  std::uint64_t seed = 123456;
};

std::vector<data::MediationSample> load_samples(const SampleSource& source);

// Writes <folder>/args-<YYYYmmdd-HHMMSS>.json (spec §2.4), creating the folder.
void write_args_file(const std::string& folder, const nlohmann::json& args);

// Writes `value` as pretty JSON to `path` atomically (creating parent folders).
void write_json(const std::string& path, const nlohmann::json& value);

}  // namespace remedi::cli
