// libFuzzer target: the data-set readers of src/data. The first byte chooses the reader, the rest is
// the file: 0 CounterFact JSON (a split file), 1 Bias in Bios CSV (LabHC columns), 2 McRae TSV, 3
// WinoVenti TSV, 4 converted samples JSONL, 5 a cmudict file (McRae's articles). What a reader
// returns is written back out as JSONL, as `remedi dataset convert` does. One target for all of
// them keeps the test command's smoke run short; the seeds carry their selector byte (scripts/fuzz.sh).
#include <string>

#include "data/articles.h"
#include "data/biasinbios.h"
#include "data/counterfact.h"
#include "data/mcrae.h"
#include "data/sample.h"
#include "data/winoventi.h"
#include "fuzz_input.h"
#include "util/error.h"

namespace {

std::vector<remedi::data::MediationSample> read(std::uint8_t reader, const std::string& path) {
  namespace data = remedi::data;
  switch (reader % 6) {
    case 0:
      return data::load_counterfact(path);
    case 1:
      return data::load_biosbias(path);
    case 2:
      return data::load_mcrae(path, data::Articles::spelling_rules());
    case 3:
      return data::load_winoventi(path);
    case 4:
      return data::read_samples(path);
    default: {
      const data::Articles articles = data::Articles::from_cmudict(path);
      for (const char* word : {"apple", "hour", "unicorn", "x-ray", "", "Apple"})
        (void)articles.article(word);
      return {};
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const remedi::fuzz::MemoryFile input(data + 1, size - 1);
  try {
    const auto samples = read(data[0], input.path());
    (void)remedi::data::samples_to_jsonl(samples);
  } catch (const remedi::Error&) {
  }
  return 0;
}
