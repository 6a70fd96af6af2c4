// Process-wide compute settings for libtorch and the BLAS beneath it.
#pragma once

#include <string>

namespace remedi::lm {

// Sets libtorch's intra-op thread count: $REMEDI_NUM_THREADS if set, else the number of cores.
// Call once at start-up, before any tensor work.
void configure_threads();

// The BLAS libtorch was built with and the vectorised CPU kernels it runs on this machine, e.g.
// "mkl, CPU capability AVX512" (what a benchmark prints beside its numbers).
std::string blas_description();

// Loads libtorch's CUDA backend (libtorch_cuda.so beside libtorch_cpu.so, with the CUDA libraries it
// needs) into the process, once; remedi links only the CPU part, so that a CPU run neither loads nor
// pays for the CUDA libraries (about 260 MB of resident memory). Returns whether it is loaded; when
// not, `why` (if given) says what went wrong ("is not part of this libtorch", or the loader's error).
// parse_device("cuda...") calls it; code that asks libtorch about CUDA directly must call it first.
bool load_cuda_backend(std::string* why = nullptr);

// load_cuda_backend() and torch::cuda::is_available().
bool cuda_available();

// Whether this libtorch has CUDA and how many devices it sees, e.g. "compiled in (CUDA runtime
// 13.2), 0 devices" or "not compiled in"; loads the CUDA backend to find out.
std::string cuda_description();

}  // namespace remedi::lm
