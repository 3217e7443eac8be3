// What `awsdt run` checks on this machine before a job reaches a scheduler, so that a mistake fails in a second
// rather than after a queue wait: the executables the ranks will run exist (and where the nodes can see them),
// a multi-node job's checkpoints go where every node sees them, and the benchmark accepts its arguments.
#pragma once

#include <string>

#include "jobspec.hpp"
#include "manifest.hpp"

namespace awsdt::launcher {

/// Throws UsageError naming the value when the job cannot run as rendered; warns on stderr when it may not.
/// `spec` is final: job directory, result and checkpoint arguments included.
void preflight(const JobSpec& spec, const Manifest& manifest);

/// Where a job's directory goes when --job-dir is not given: $AWSDT_JOB_ROOT, else on Slurm a shared filesystem
/// when one is found (the first --mount's source, /fsx) as <root>/awsdt/<user>/jobs, else the state directory's
/// jobs/ (local disk: right for local jobs, and on Slurm only when nothing shared is known).
std::string default_job_root(const JobSpec& spec);

}  // namespace awsdt::launcher
