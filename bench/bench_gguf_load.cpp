// Time to open (map + validate) a GGUF file and dequantize every tensor to f32 into one buffer, and
// the peak resident memory. Usage: bench_gguf_load [model.gguf] (default: the fetched SmolLM2).
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "lm/threads.h"
#include "util/error.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string default_model() {
  const char* home = std::getenv("REMEDI_HOME");
  const std::string folder = home != nullptr ? home : std::string(std::getenv("HOME")) + "/.cache/remedi";
  return folder + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : default_model();
  try {
    const auto open_start = std::chrono::steady_clock::now();
    const auto gguf = remedi::io::GgufFile::open(path);
    const double open_seconds = seconds_since(open_start);

    std::int64_t total = 0;
    std::map<std::string, std::int64_t> elements_per_dtype;
    for (const auto& view : gguf.tensors()) {
      total += view.numel();
      elements_per_dtype[std::string(remedi::io::dtype_name(view.dtype))] += view.numel();
    }
    std::vector<float> buffer(static_cast<std::size_t>(total));
    const auto convert_start = std::chrono::steady_clock::now();
    std::size_t offset = 0;
    for (const auto& view : gguf.tensors()) {
      const auto count = static_cast<std::size_t>(view.numel());
      remedi::io::to_f32(view, std::span(buffer).subspan(offset, count), gguf.path());
      offset += count;
    }
    const double convert_seconds = seconds_since(convert_start);

    double checksum = 0;
    for (std::size_t i = 0; i < buffer.size(); i += 4099) checksum += buffer[i];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);

    std::cout << "file " << path << " (" << std::filesystem::file_size(path) << " bytes, "
              << gguf.tensors().size() << " tensors, " << total << " elements)\n";
    for (const auto& [dtype, count] : elements_per_dtype)
      std::cout << "  " << dtype << ": " << count << " elements\n";
    std::cout << "open + validate: " << open_seconds * 1e3 << " ms\n"
              << "dequantize all to f32 (one thread): " << convert_seconds * 1e3 << " ms ("
              << static_cast<double>(total) / convert_seconds / 1e6 << " M elements/s)\n"
              << "peak RSS: " << usage.ru_maxrss / 1024 << " MiB (f32 buffer " << total * 4 / (1 << 20)
              << " MiB)\n"
              << "checksum " << checksum << "\n"
              << "BLAS " << remedi::lm::blas_description() << " (unused here)\n";
  } catch (const remedi::Error& e) {
    std::cerr << "bench_gguf_load: " << e.what() << "\n";
    return remedi::kBadInputExitCode;
  }
  return 0;
}
