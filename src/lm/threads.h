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

// Whether this libtorch has CUDA and how many devices it sees, e.g. "compiled in (CUDA runtime
// 13.2), 0 devices" or "not compiled in".
std::string cuda_description();

}  // namespace remedi::lm
