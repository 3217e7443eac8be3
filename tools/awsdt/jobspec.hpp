// JobSpec: one neutral description of a job, rendered by every cluster backend. Filled in layers, each
// overriding the last: test case manifest -> instance catalog -> user profile -> command line.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog.hpp"
#include "cluster/slurm/slurm_nodes.hpp"
#include "manifest.hpp"

namespace awsdt::launcher {

struct EnvVar {
  std::string name, value, reason;  ///< reason: why a preset sets it ("" for user variables)
};

struct JobSpec {
  std::string name;  ///< job name (scheduler-visible)
  std::string test_case;
  std::string executable;  ///< awsdt-<name>, resolved inside the job's environment (PATH or bin dir)
  std::string bin_dir;     ///< where executables live on the cluster ("" = on PATH, e.g. in the container)
  std::vector<std::string> args;
  std::string cluster = "local";
  int nodes = 1;
  int gpus_per_node = 0;
  int tasks_per_node = 1;
  std::string instance_type;
  int efa_devices = 0;
  int vcpus = 0;
  int memory_gib = 0;
  std::string container;
  std::vector<std::string> mounts;  ///< SRC:DST, or pvc:CLAIM:DST (Kubernetes)
  std::vector<EnvVar> env;
  std::string time_limit;  ///< minutes or [D-]HH:MM:SS ("" = scheduler default)
  std::string partition, account, namespace_ = "default", queue;
  int retries = 0;                 ///< restarts allowed (requeues, pod restarts, Batch attempts - 1)
  bool auto_resume = false;        ///< HyperPod Slurm --auto-resume=1
  std::string launcher = "srun";   ///< slurm: srun (--mpi=pmix) or mpirun
  std::vector<std::string> extra;  ///< passthrough scheduler arguments (#SBATCH lines, ...)
  bool allow_no_efa = false;
  std::string job_dir;  ///< where logs and artifacts live
  std::string image_pull_policy = "IfNotPresent";
  /// What was learned rather than asked for (the Slurm partition's GPUs when no --instance-type was given), and
  /// from where: recorded in jobspec.json so that a surprising render can be traced.
  std::map<std::string, std::string> inferred;

  int total_tasks() const { return nodes * tasks_per_node; }
};

/// One --mount: a host path (`/fsx:/fsx`) or, on Kubernetes, a PersistentVolumeClaim (`pvc:fsx-claim:/fsx`).
struct Mount {
  bool pvc = false;
  std::string source;  ///< the host path, or the claim's name
  std::string target;  ///< where the container sees it
};
/// Splits a --mount as written (validated by resolve_jobspec).
Mount parse_mount(const std::string& mount);

/// The user awsdt runs as ($USER, else the password database): names shared job roots.
std::string user_name();

void to_json(nlohmann::json& j, const EnvVar& v);
void from_json(const nlohmann::json& j, EnvVar& v);
void to_json(nlohmann::json& j, const JobSpec& s);
void from_json(const nlohmann::json& j, JobSpec& s);

/// Command-line choices; unset ones leave earlier layers alone.
struct JobFlags {
  std::optional<std::string> cluster, instance_type, container, time_limit, partition, account, namespace_, queue,
      launcher, name, bin_dir, job_dir;
  std::optional<int> nodes, gpus_per_node, tasks_per_node, retries;
  std::vector<std::string> mounts, env, extra, args;  ///< env as K=V
  bool allow_no_efa = false;
  std::string profile;  ///< named defaults from ~/.config/awsdt/config.yaml
};

/// Merges the named profile into `flags` (the command line wins) and clears flags.profile.
void apply_profile(JobFlags& flags);
/// The layered resolution; validates the result (throws UsageError naming the bad value). `nodes`: what the Slurm
/// cluster said about its partition, used where the command line names no instance type.
JobSpec resolve_jobspec(const Manifest& manifest, const Catalog& catalog, const JobFlags& flags,
                        const SlurmNodes* nodes = nullptr);

/// Clusters the launcher knows.
const std::vector<std::string>& cluster_kinds();

}  // namespace awsdt::launcher
