// `remedi dataset convert|show` (and `remedi reformat-dataset`, the original's name for convert): turn
// a raw data set into mediation samples (JSON Lines) or print some of them. Without -f the default input is
// looked up under $REMEDI_DATA, or else under the repository's data/ folder (fixed at build time).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "common.h"
#include "data/datasets.h"
#include "data/sample.h"

namespace remedi::cli {

namespace {

struct DatasetArguments {
  std::string name;
  std::string file;
  std::string split;
  std::string cmudict;
  std::uint64_t seed = 123456;
  // convert
  std::string output;
  // show
  std::size_t limit = 5;
  bool with_source = false;
};

std::vector<data::MediationSample> load(const DatasetArguments& args) {
  return load_samples({args.name, args.file, args.split, args.cmudict, args.seed});
}

void convert_to(const DatasetArguments& args, const std::string& output) {
  const std::vector<data::MediationSample> samples = load(args);
  data::write_samples(output, samples);
  std::cerr << "wrote " << samples.size() << " samples to " << output << " (read it back with -d samples -f "
            << output << ")\n";
}

void add_common_options(CLI::App* cmd, DatasetArguments& args) {
  std::string names;
  for (const std::string& name : data::dataset_names()) names += (names.empty() ? "" : ", ") + name;
  cmd->add_option("-d,--dataset", args.name, "Data set: " + names)->required();
  cmd->add_option("-f,--file", args.file,
                  "Input file or folder (default: under $REMEDI_DATA, else " REMEDI_DEFAULT_DATA_DIR ")");
  require_row_selector(cmd->add_option("--split", args.split,
                                       "Rows to keep, e.g. train[:5000], train[5000:10000], train[:10%]"));
  cmd->add_option("--cmudict", args.cmudict, "McRae: choose a/an from this CMU dictionary file");
  cmd->add_option("--seed", args.seed, "McRae sampling; synthetic Bias-in-Bios names")->capture_default_str();
}

}  // namespace

void register_dataset(CLI::App& app) {
  auto* dataset = app.add_subcommand("dataset", "Convert data sets into mediation samples and inspect them");
  dataset->require_subcommand(1);
  auto args = std::make_shared<DatasetArguments>();

  auto* convert = dataset->add_subcommand("convert", "Convert a data set and write it as JSON Lines");
  add_common_options(convert, *args);
  convert->add_option("-o,--output", args->output, "Output .jsonl file (written atomically)")->required();
  convert->callback([args] { convert_to(*args, args->output); });

  // The original's reformat_dataset (METHOD §9.3): the same conversion under its name and flags, the
  // output next to the working directory unless -o says otherwise.
  auto reformat_args = std::make_shared<DatasetArguments>();
  auto* reformat = app.add_subcommand(
      "reformat-dataset",
      "Convert a data set once (the original's reformat_dataset; same as dataset convert)");
  add_common_options(reformat, *reformat_args);
  reformat->add_option("-o,--output", reformat_args->output, "Output .jsonl file (default: <dataset>.jsonl)");
  reformat->callback([reformat_args] {
    convert_to(*reformat_args,
               reformat_args->output.empty() ? reformat_args->name + ".jsonl" : reformat_args->output);
  });

  auto* show = dataset->add_subcommand("show", "Print converted samples as JSON Lines");
  add_common_options(show, *args);
  show->add_option("--limit", args->limit, "Print at most this many samples (0: all)")->capture_default_str();
  show->add_flag("--with-source", args->with_source, "Include each sample's raw source record");
  show->callback([args] {
    const std::vector<data::MediationSample> samples = load(*args);
    const std::size_t count = args->limit == 0 ? samples.size() : std::min(args->limit, samples.size());
    for (std::size_t i = 0; i < count; ++i) {
      data::Json record = data::sample_to_json(samples[i]);
      if (!args->with_source) record.erase("source");
      std::cout << record.dump(-1, ' ', false, data::Json::error_handler_t::replace) << "\n";
    }
    std::cerr << samples.size() << " samples, " << count << " shown\n";
  });
}

}  // namespace remedi::cli
