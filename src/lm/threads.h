// Process-wide compute settings for libtorch and the BLAS beneath it.
#pragma once

#include <string>

namespace remedi::lm {

// Sets libtorch's intra-op thread count: $REMEDI_NUM_THREADS if set, else the number of cores.
// Call once at start-up, before any tensor work.
void configure_threads();

// The kernel OpenBLAS chose for this CPU (e.g. "SkylakeX", "Haswell"), or "unknown" when the BLAS
// in use is not OpenBLAS.
std::string blas_core_name();

}  // namespace remedi::lm
