// `awsdt run NAME`: render and submit a test case to a cluster, record it, and optionally wait or follow.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

/// Registers the subcommand; its callback sets `exit_status` (with --wait: the job's exit status).
void setup_run(CLI::App& app, int& exit_status);

}  // namespace awsdt::launcher
