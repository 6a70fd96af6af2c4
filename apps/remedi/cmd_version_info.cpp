// `remedi version-info`: the library versions and threading this build runs with (what a bug
// report needs).
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "lm/threads.h"

namespace remedi::cli {

void register_version_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("version-info",
                                 "Print library versions, CUDA devices, BLAS kernels and thread counts");
  cmd->callback([] {
    std::cout << "remedi " << REMEDI_VERSION << "\n"
              << "libtorch " << TORCH_VERSION << " (the PyTorch wheel's)\n"
              << "CUDA " << lm::cuda_description() << "\n"
              << "intra-op threads " << torch::get_num_threads() << "\n"
              << "BLAS " << lm::blas_description() << "\n";
  });
}

}  // namespace remedi::cli
