#include "lm/threads.h"

#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <thread>

// Declared weak so that a build against another BLAS still links; OpenBLAS provides it.
extern "C" char* openblas_get_corename() __attribute__((weak));  // NOLINT(readability-identifier-naming)

namespace remedi::lm {

void configure_threads() {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("REMEDI_NUM_THREADS")) {
    const int requested = std::atoi(env);
    if (requested > 0) threads = requested;
  }
  if (threads < 1) threads = 1;
  torch::set_num_threads(threads);
}

std::string blas_core_name() {
  if (openblas_get_corename == nullptr) return "unknown";
  const char* name = openblas_get_corename();
  return name != nullptr ? name : "unknown";
}

}  // namespace remedi::lm
