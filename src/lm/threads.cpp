#include "lm/threads.h"

#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <filesystem>
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

bool load_cuda_backend(std::string* why) {
  struct Outcome {
    bool loaded = false;
    std::string why;
  };
  static const Outcome outcome = [] {
    // Where this process's libtorch_cpu.so lives; libtorch_cuda.so is its neighbour in every
    // libtorch distribution (the wheel's torch/lib, the libtorch zip's lib).
    void* cpu = dlopen("libtorch_cpu.so", RTLD_NOW | RTLD_NOLOAD);
    link_map* map = nullptr;
    const bool located =
        cpu != nullptr && dlinfo(cpu, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr;
    const std::string cpu_path = located ? map->l_name : "";
    if (cpu != nullptr) dlclose(cpu);  // drops the reference the lookup took; the library stays
    if (!located) return Outcome{false, "cannot be located (libtorch_cpu.so is not loaded by name)"};
    const std::filesystem::path library = std::filesystem::path(cpu_path).parent_path() / "libtorch_cuda.so";
    if (!std::filesystem::exists(library))
      return Outcome{false, "is not part of this libtorch (" + library.string() + " does not exist)"};
    if (dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      const char* error = dlerror();
      return Outcome{false,
                     "could not be loaded: " + std::string(error != nullptr ? error : "unknown error")};
    }
    return Outcome{true, ""};
  }();
  if (why != nullptr) *why = outcome.why;
  return outcome.loaded;
}

bool cuda_available() { return load_cuda_backend() && torch::cuda::is_available(); }

std::string cuda_description() {
  std::string why;
  if (!load_cuda_backend(&why)) return "not available: libtorch's CUDA backend " + why;
  const at::CUDAHooksInterface& hooks = at::detail::getCUDAHooks();
  if (!hooks.isBuilt()) return "not compiled in";
  const long version = hooks.versionCUDART();  // e.g. 13020 for 13.2
  const std::size_t devices = torch::cuda::device_count();
  return "compiled in (CUDA runtime " + std::to_string(version / 1000) + "." +
         std::to_string(version % 1000 / 10) + "), " + std::to_string(devices) +
         (devices == 1 ? " device" : " devices");
}

}  // namespace remedi::lm
