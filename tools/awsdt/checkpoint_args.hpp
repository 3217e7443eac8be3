// The checkpoint directory the launcher gives test cases that checkpoint (manifest "checkpoint_flag"): a
// trainer stopped by a preemption signal saves there and exits 75 (kExitRequeue); the scheduler starts the job
// again with the same arguments, so the directory must outlive the run and be visible to every node.
#pragma once

#include <string>

#include "jobspec.hpp"
#include "manifest.hpp"

namespace awsdt::launcher {

/// Where `spec`'s checkpoints survive a requeue on its cluster, or "" when no such place is known.
std::string checkpoint_dir_for(const JobSpec& spec);
/// Appends `<checkpoint_flag> <checkpoint_dir_for(spec)>` to spec.args when the manifest has a checkpoint flag,
/// the user did not pass that flag (as `FLAG DIR` or `FLAG=DIR`), and a directory is known. Needs spec.job_dir.
void add_checkpoint_arg(JobSpec& spec, const Manifest& manifest);

}  // namespace awsdt::launcher
