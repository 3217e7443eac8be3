// The paths the launcher gives test cases for what must outlive a run: the checkpoint directory (manifest
// "checkpoint_flag": a trainer stopped by a preemption signal saves there and exits 75, kExitRequeue, and the
// scheduler starts it again with the same arguments) and the JSON result file (manifest "result_flag"). Both
// must be visible to every node and survive a restart of the container they were written in.
#pragma once

#include <string>

#include "jobspec.hpp"
#include "manifest.hpp"

namespace awsdt::launcher {

/// Where `spec`'s checkpoints survive a requeue on its cluster, or "" when no such place is known.
std::string checkpoint_dir_for(const JobSpec& spec);
/// Where `spec`'s result file lands somewhere that outlives the job, or "" when no such place is known (the
/// result is then only in the job's log).
std::string result_file_for(const JobSpec& spec);
/// Appends `<checkpoint_flag> <checkpoint_dir_for(spec)>` to spec.args when the manifest has a checkpoint flag,
/// the user did not pass that flag (as `FLAG DIR` or `FLAG=DIR`), and a directory is known. Needs spec.job_dir.
void add_checkpoint_arg(JobSpec& spec, const Manifest& manifest);
/// The same for the manifest's result flag and result_file_for(spec).
void add_result_arg(JobSpec& spec, const Manifest& manifest);
/// Both: what `run` submits and `render` writes (the result file, then the checkpoint directory).
void add_output_args(JobSpec& spec, const Manifest& manifest);

}  // namespace awsdt::launcher
