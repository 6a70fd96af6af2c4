// One projection of SmolLM2's shapes, y = x W^T at 1..64 rows: libtorch's dense product (fp32, bf16)
// against remedi's streamed dense product (lm/streamed_linear.h) and quantized kernels
// (lm/quantized.h), in microseconds per call and GB/s of weights read (the weights of one matrix
// stay in the caches between calls: a kernel comparison, not a decode step).
// Usage: bench_quantized [N K] (default 1536 576: one half of the gated MLP's input).
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "lm/quantized.h"
#include "lm/streamed_linear.h"
#include "lm/threads.h"

namespace {

double microseconds(const std::function<void()>& f) {
  for (int i = 0; i < 20; ++i) f();
  int runs = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < 0.5) {
    f();
    ++runs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return elapsed / runs * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  using remedi::lm::QuantFormat;
  const std::int64_t n = argc > 2 ? std::atoll(argv[1]) : 1536;
  const std::int64_t k = argc > 2 ? std::atoll(argv[2]) : 576;
  remedi::lm::configure_threads();
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  std::cout << "threads " << torch::get_num_threads() << "\nkernel " << remedi::lm::quant_kernel_name()
            << "\nshape " << n << " x " << k << "\n";
  const torch::Tensor w = torch::randn({n, k}) * 0.05;
  const torch::Tensor w16 = w.to(torch::kBFloat16);
  std::cout << "rows format microseconds weight_GB/s\n";
  for (const std::int64_t rows : {1, 4, 16, 64}) {
    const torch::Tensor x = torch::randn({rows, k});
    const torch::Tensor x16 = x.to(torch::kBFloat16);
    const auto report = [&](const std::string& name, double us, double bytes) {
      std::cout << rows << " " << name << " " << us << " " << bytes / us / 1e3 << "\n";
    };
    report("fp32", microseconds([&] { torch::linear(x, w); }), 4.0 * n * k);
    report("bf16", microseconds([&] { torch::linear(x16, w16); }), 2.0 * n * k);
    if (remedi::lm::streamed_linear_applies(x, w, torch::Tensor())) {
      report("fp32-streamed", microseconds([&] { remedi::lm::streamed_linear(x, w, torch::Tensor()); }),
             4.0 * n * k);
      report("bf16-streamed", microseconds([&] { remedi::lm::streamed_linear(x16, w16, torch::Tensor()); }),
             2.0 * n * k);
    }
    for (const QuantFormat f : {QuantFormat::Q8_0, QuantFormat::Q4_0, QuantFormat::Q4_1}) {
      const torch::Tensor q = remedi::lm::quantize_weight(w, f);
      report(remedi::lm::quant_format_name(f),
             microseconds([&] { remedi::lm::quantized_linear(x, q, torch::Tensor()); }),
             static_cast<double>(q.numel()));
    }
  }
}
