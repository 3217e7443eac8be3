// `awsdt run NAME`: runs a test case. This first version launches locally with mpirun (the `local` cluster);
// scheduler backends (slurm, eks, batch, hyperpod) arrive with the launcher's cluster layer.
#pragma once

#include <CLI/CLI.hpp>

namespace awsdt::launcher {

/// Registers the subcommand; its callback sets `exit_status` to the job's exit status.
void setup_run(CLI::App& app, int& exit_status);

}  // namespace awsdt::launcher
