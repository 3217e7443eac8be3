// A cluster backend turns a JobSpec into files (render), submits them, and answers status/logs/cancel.
// One folder per backend under cluster/, one line each in cluster/registry.cpp.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jobspec.hpp"
#include "templates.hpp"

namespace awsdt::launcher {

/// Rendered files (byte-for-byte reproducible) and the commands that submit them.
struct Artifacts {
  std::vector<std::pair<std::string, std::string>> files;  ///< file name -> content
  std::vector<std::vector<std::string>> submit_commands;   ///< what run would execute, for --dry-run
};

/// Preempted: the job ended with exit status 75 (kExitRequeue: it checkpointed after a preemption signal) and
/// nothing started it again; running it again with the same checkpoint directory resumes it.
enum class JobState { Pending, Running, Completed, Failed, Cancelled, Preempted, Unknown };
std::string state_name(JobState s);
bool is_terminal(JobState s);
/// The same for a state as recorded in the job database (state_name's spelling).
bool is_terminal_state(const std::string& name);

struct JobStatus {
  JobState state = JobState::Unknown;
  int exit_code = -1;  ///< the job's exit status once terminal (-1 unknown)
  std::string detail;
};

/// `st` with a failure whose exit status is 75 reported as Preempted: the scheduler did not (or could not)
/// requeue it, and "failed" would hide that its checkpoint is ready to resume from.
JobStatus with_preemption(JobStatus st);
/// What PREEMPTED means, in the words status and jobs print: "exit 75: checkpointed, requeue to resume".
std::string preempted_detail();

class ClusterBackend {
 public:
  virtual ~ClusterBackend() = default;
  /// Throws UsageError naming the value when `spec` asks for what this cluster cannot run. The fields every
  /// cluster shares (counts, names, time, syntax of mounts and options) are checked before, by jobspec.cpp.
  virtual void validate(const JobSpec& spec) const = 0;
  /// The files for `spec`; artifacts are written into `job_dir` by the caller.
  virtual Artifacts render(const JobSpec& spec, const TemplateSet& templates) const = 0;
  /// Submits the artifacts already written in `job_dir`; returns the scheduler's job id.
  virtual std::string submit(const JobSpec& spec, const Artifacts& artifacts, const std::filesystem::path& job_dir) = 0;
  /// Status of several jobs with as few scheduler calls as possible (one batched query, never a storm).
  virtual std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                                  const std::vector<JobSpec>& specs) = 0;
  /// The rank-0 log so far (or the command that shows it, for backends whose logs live elsewhere).
  virtual std::string logs(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir,
                           int rank) = 0;
  virtual void cancel(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir) = 0;
};

/// The backend for a cluster kind (local, slurm, hyperpod-slurm, eks, hyperpod-eks, batch).
std::unique_ptr<ClusterBackend> make_backend(const std::string& cluster);

}  // namespace awsdt::launcher
