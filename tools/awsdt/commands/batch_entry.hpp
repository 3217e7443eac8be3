// `awsdt batch-entry`: the entry point of an AWS Batch multi-node parallel job. Every node meets the main
// node over TCP (workers know its address from AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS; the main node
// has no such variable and listens), the main node writes the MPI hostfile from the addresses it saw and runs
// mpirun; workers serve sshd for mpirun until the main node ends the job.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

/// Registers the subcommand; its callback sets `exit_status` (it normally execs and does not return).
void setup_batch_entry(CLI::App& app, int& exit_status);

}  // namespace awsdt::launcher
