#include "common.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "data/datasets.h"
#include "data/splits.h"
#include "util/atomic_file.h"

namespace remedi::cli {

std::string data_dir() {
  if (const char* env = std::getenv("REMEDI_DATA"); env != nullptr && *env != '\0') return env;
  return REMEDI_DEFAULT_DATA_DIR;
}

std::string results_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("REMEDI_RESULTS"); env != nullptr && *env != '\0') return env;
  return "results";
}

std::vector<data::MediationSample> load_samples(const SampleSource& source) {
  const std::string path =
      source.file.empty() ? data::default_dataset_path(source.dataset, data_dir()) : source.file;
  data::DatasetOptions options;
  options.cmudict_path = source.cmudict;
  options.seed = source.seed;
  std::vector<data::MediationSample> samples = data::load_dataset(source.dataset, path, options);
  if (!source.split.empty()) samples = data::select_split(samples, source.split);
  return samples;
}

void write_json(const std::string& path, const nlohmann::json& value) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  AtomicOutputFile out(path);
  out.write(value.dump(2) + "\n");
  out.commit();
}

void write_args_file(const std::string& folder, const nlohmann::json& args) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  write_json((std::filesystem::path(folder) / ("args-" + std::string(stamp) + ".json")).string(), args);
}

}  // namespace remedi::cli
