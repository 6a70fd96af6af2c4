#include "data/datasets.h"

#include <algorithm>
#include <filesystem>

#include "data/articles.h"
#include "data/biasinbios.h"
#include "data/counterfact.h"
#include "data/mcrae.h"
#include "data/winoventi.h"
#include "util/error.h"

namespace remedi::data {

namespace {

void require_known(const std::string& name) {
  const auto& names = dataset_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const std::string& known_name : names) known += (known.empty() ? "" : ", ") + known_name;
    throw Error("<argument>", "dataset", "unknown data set \"" + name + "\" (known: " + known + ")");
  }
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"counterfact", "biosbias", "mcrae", "winoventi", "samples"};
  return names;
}

std::string default_dataset_path(const std::string& name, const std::string& data_dir) {
  require_known(name);
  const std::filesystem::path root(data_dir);
  if (name == "counterfact") return (root / "counterfact").string();
  if (name == "biosbias") return (root / "biasinbios-samples").string();
  if (name == "mcrae") return (root / "mcrae" / "CONCS_FEATS_concstats_brm.txt").string();
  if (name == "winoventi") return (root / "winoventi" / "winoventi_bert_large_final.tsv").string();
  throw Error("<argument>", "dataset", "\"" + name + "\" has no default file: give one with -f");
}

std::vector<MediationSample> load_dataset(const std::string& name, const std::string& path,
                                          const DatasetOptions& options) {
  require_known(name);
  if (!std::filesystem::exists(path)) throw Error(path, "", "does not exist");
  if (name == "counterfact") return load_counterfact(path);
  if (name == "biosbias") {
    BiosOptions bios;
    bios.name_seed = options.seed;
    return load_biosbias(path, bios);
  }
  if (name == "mcrae") {
    McRaeOptions mcrae;
    mcrae.seed = options.seed;
    const Articles articles = options.cmudict_path.empty() ? Articles::spelling_rules()
                                                           : Articles::from_cmudict(options.cmudict_path);
    return load_mcrae(path, articles, mcrae);
  }
  if (name == "winoventi") return load_winoventi(path);
  return read_samples(path);
}

}  // namespace remedi::data
