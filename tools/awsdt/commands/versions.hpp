// `awsdt versions`: compile- and run-time versions of CUDA, NCCL, MPI, libfabric (+ providers), EFA installer.
#pragma once

#include <CLI/CLI.hpp>

namespace awsdt::launcher {

/// Registers the subcommand; its callback prints the table or JSON.
void setup_versions(CLI::App& app);

}  // namespace awsdt::launcher
