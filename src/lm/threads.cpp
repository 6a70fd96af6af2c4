#include "lm/threads.h"

#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <thread>

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

std::string blas_description() {
  // at::show_config() is the text torch.__config__.show() prints; two of its fields say which BLAS
  // and which vectorised kernels (ATen's CPU capability: DEFAULT, AVX2, AVX512) this process runs.
  const std::string config = at::show_config();
  const auto field = [&config](const std::string& key, const std::string& stops) -> std::string {
    const std::size_t at = config.find(key);
    if (at == std::string::npos) return "unknown";
    const std::size_t start = at + key.size();
    return config.substr(start, config.find_first_of(stops, start) - start);
  };
  return field("BLAS_INFO=", ",\n") + ", CPU capability " + field("CPU capability usage: ", "\n");
}

std::string cuda_description() {
  const at::CUDAHooksInterface& hooks = at::detail::getCUDAHooks();
  if (!hooks.isBuilt()) return "not compiled in";
  const long version = hooks.versionCUDART();  // e.g. 13020 for 13.2
  const std::size_t devices = torch::cuda::device_count();
  return "compiled in (CUDA runtime " + std::to_string(version / 1000) + "." +
         std::to_string(version % 1000 / 10) + "), " + std::to_string(devices) +
         (devices == 1 ? " device" : " devices");
}

}  // namespace remedi::lm
