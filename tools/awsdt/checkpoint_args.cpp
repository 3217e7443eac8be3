// Default checkpoint directories and result files (see checkpoint_args.hpp).
#include "checkpoint_args.hpp"

#include <algorithm>
#include <filesystem>

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

// Local and Slurm run where the job directory is: this machine, or the shared filesystem Slurm writes the
// job's logs to (every node and every requeue sees it; pyxis containers get it mounted at the same path).
bool sees_job_dir(const JobSpec& spec) {
  return spec.cluster == "local" || spec.cluster == "slurm" || spec.cluster == "hyperpod-slurm";
}

// EKS, HyperPod EKS and Batch run in containers whose own filesystem is gone when a pod or attempt restarts,
// and the job directory lives on the submitting machine. Only a --mount (a host path, on these clusters an
// FSx/EFS mount on every node, or a PersistentVolumeClaim) survives: <first mount's target>/awsdt/<user>/jobs/
// <job directory's name>/`leaf`, the layout of a Slurm job root on a shared filesystem. The name (<number>-<job
// name>) and the user keep two jobs, or two users' job number 3, apart; no directory of the submitting machine
// appears in it. "" without a mount: a file written into the container would be lost by the very restart it is
// for.
std::string under_first_mount(const JobSpec& spec, const std::string& leaf) {
  if (spec.mounts.empty()) return "";
  fs::path target = parse_mount(spec.mounts.front()).target;
  auto name = fs::path(spec.job_dir).lexically_normal().filename();
  if (name.empty()) name = fs::path(spec.job_dir).lexically_normal().parent_path().filename();  // "dir/"
  return (target / "awsdt" / user_name() / "jobs" / name / leaf).string();
}

void add_arg(JobSpec& spec, const std::string& flag, const std::string& value) {
  if (flag.empty() || value.empty()) return;
  bool given = std::any_of(spec.args.begin(), spec.args.end(),
                           [&](const std::string& a) { return a == flag || a.starts_with(flag + "="); });
  if (given) return;
  spec.args.push_back(flag);
  spec.args.push_back(value);
}

}  // namespace

std::string checkpoint_dir_for(const JobSpec& spec) {
  if (spec.job_dir.empty()) return "";
  if (sees_job_dir(spec)) return (fs::path(spec.job_dir) / "checkpoints").string();
  return under_first_mount(spec, "checkpoints");
}

std::string result_file_for(const JobSpec& spec) {
  if (spec.job_dir.empty()) return "";
  if (sees_job_dir(spec)) return (fs::path(spec.job_dir) / "result.json").string();
  return under_first_mount(spec, "result.json");
}

void add_checkpoint_arg(JobSpec& spec, const Manifest& manifest) {
  add_arg(spec, manifest.checkpoint_flag, checkpoint_dir_for(spec));
}

void add_result_arg(JobSpec& spec, const Manifest& manifest) {
  add_arg(spec, manifest.result_flag, result_file_for(spec));
}

void add_output_args(JobSpec& spec, const Manifest& manifest) {
  add_result_arg(spec, manifest);
  add_checkpoint_arg(spec, manifest);
}

}  // namespace awsdt::launcher
