// `awsdt versions`: compile- and run-time versions of CUDA, NCCL, MPI, libfabric (+ providers), EFA installer.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

/// Registers the subcommand; its callback prints the table or JSON.
void setup_versions(CLI::App& app);

}  // namespace awsdt::launcher
