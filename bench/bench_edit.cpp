// One edit's latency through the library, as the Python package's benchmark measures it from Python
// (bench/bench_python.py; scripts/bench-python.sh runs both): prepare_edits (the editor's pass over
// the context and the direction) plus top_next_tokens (the edited forward over the prompt), on the
// default model with the shipped editor. Prints the median and the minimum over --repeats calls.
//   bench_edit [--model smollm2] [--editors smollm2-counterfact] [--repeats 30]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "evaluate/setup.h"
#include "lm/loaded_model.h"
#include "lm/threads.h"
#include "remedi/edit.h"
#include "remedi/editor_file.h"

int main(int argc, char** argv) {
  try {
    std::string model_name = "smollm2";
    std::string editors = "smollm2-counterfact";
    int repeats = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string key = argv[i];
      if (key == "--model")
        model_name = argv[i + 1];
      else if (key == "--editors")
        editors = argv[i + 1];
      else if (key == "--repeats")
        repeats = std::stoi(argv[i + 1]);
      else
        throw std::runtime_error("unknown option " + key);
    }
    remedi::lm::configure_threads();
    std::cout << "BLAS " << remedi::lm::blas_description() << "\nthreads " << torch::get_num_threads()
              << "\n";
    const remedi::lm::LoadedModel model = remedi::lm::load_model(model_name);
    const auto editor = remedi::load_editor(remedi::evaluate::editors_dir(editors), "linear", -1, model.lm());
    remedi::EditRequest request;
    request.prompt = "The language Dolomiten was written in is called";
    request.entity = "Dolomiten";
    request.context = "Dolomiten is written in Russian";
    request.editor = editor;
    std::vector<double> seconds;
    for (int i = 0; i < repeats + 3; ++i) {  // 3 warm-up calls
      const auto start = std::chrono::steady_clock::now();
      const remedi::PreparedEdits edits = remedi::prepare_edits(model, {request});
      const auto top = remedi::top_next_tokens(model, edits, 10);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (i >= 3) seconds.push_back(elapsed);
    }
    std::sort(seconds.begin(), seconds.end());
    std::cout << "edit_call_median_ms " << 1e3 * seconds[seconds.size() / 2] << "\nedit_call_min_ms "
              << 1e3 * seconds.front() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_edit: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
