// The explicit list of cluster backends (see backend.hpp).
#include <fmt/format.h>

#include "cluster/batch/batch_backend.hpp"
#include "cluster/eks/eks_backend.hpp"
#include "cluster/local/local_backend.hpp"
#include "cluster/slurm/slurm_backend.hpp"
#include "util/error.hpp"
#include "util/signals.hpp"

namespace awsdt::launcher {

std::string state_name(JobState s) {
  switch (s) {
    case JobState::Pending: return "PENDING";
    case JobState::Running: return "RUNNING";
    case JobState::Completed: return "COMPLETED";
    case JobState::Failed: return "FAILED";
    case JobState::Cancelled: return "CANCELLED";
    case JobState::Preempted: return "PREEMPTED";
    case JobState::Unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

bool is_terminal(JobState s) {
  return s == JobState::Completed || s == JobState::Failed || s == JobState::Cancelled || s == JobState::Preempted;
}

bool is_terminal_state(const std::string& name) {
  for (auto s : {JobState::Completed, JobState::Failed, JobState::Cancelled, JobState::Preempted})
    if (name == state_name(s)) return true;
  return false;
}

std::string preempted_detail() { return fmt::format("exit {}: checkpointed, requeue to resume", kExitRequeue); }

JobStatus with_preemption(JobStatus st) {
  if (st.state == JobState::Failed && st.exit_code == kExitRequeue) {
    st.state = JobState::Preempted;
    st.detail = preempted_detail();
  }
  return st;
}

std::unique_ptr<ClusterBackend> make_backend(const std::string& cluster) {
  if (cluster == "local") return make_local_backend();
  if (cluster == "slurm" || cluster == "hyperpod-slurm") return make_slurm_backend();
  if (cluster == "eks" || cluster == "hyperpod-eks") return make_eks_backend(cluster == "hyperpod-eks");
  if (cluster == "batch") return make_batch_backend();
  throw UsageError(fmt::format("unknown cluster '{}'", cluster));
}

}  // namespace awsdt::launcher
