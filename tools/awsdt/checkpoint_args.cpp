// Default checkpoint directories (see checkpoint_args.hpp).
#include "checkpoint_args.hpp"

#include <algorithm>
#include <filesystem>

namespace awsdt::launcher {
namespace fs = std::filesystem;

std::string checkpoint_dir_for(const JobSpec& spec) {
  if (spec.job_dir.empty()) return "";
  // Local and Slurm run where the job directory is: this machine, or the shared filesystem Slurm writes the
  // job's logs to (every node and every requeue sees it; the job number in its name keeps runs apart).
  if (spec.cluster == "local" || spec.cluster == "slurm" || spec.cluster == "hyperpod-slurm")
    return (fs::path(spec.job_dir) / "checkpoints").string();
  // EKS, HyperPod EKS and Batch run in containers whose own filesystem is gone when a pod or attempt restarts,
  // and the job directory lives on the submitting machine. Only a --mount (a host path, on these clusters an
  // FSx/EFS mount on every node) survives: checkpoints go under the first one, in a folder named after the job
  // directory so two jobs (or two users' job number 3) never resume each other's state. Without a mount the
  // flag is left out: a checkpoint written into the container would be lost by the very restart it is for.
  if (spec.mounts.empty()) return "";
  const auto& m = spec.mounts.front();
  fs::path dst = m.substr(m.find(':') + 1);
  return (dst / "awsdt-checkpoints" / fs::path(spec.job_dir).lexically_normal().relative_path()).string();
}

void add_checkpoint_arg(JobSpec& spec, const Manifest& manifest) {
  const auto& flag = manifest.checkpoint_flag;
  if (flag.empty()) return;
  bool given = std::any_of(spec.args.begin(), spec.args.end(),
                           [&](const std::string& a) { return a == flag || a.starts_with(flag + "="); });
  auto dir = checkpoint_dir_for(spec);
  if (given || dir.empty()) return;
  spec.args.push_back(flag);
  spec.args.push_back(dir);
}

}  // namespace awsdt::launcher
