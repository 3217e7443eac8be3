// The explicit list of cluster backends (see backend.hpp).
#include <fmt/format.h>

#include "cluster/batch/batch_backend.hpp"
#include "cluster/eks/eks_backend.hpp"
#include "cluster/local/local_backend.hpp"
#include "cluster/slurm/slurm_backend.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {

std::string state_name(JobState s) {
  switch (s) {
    case JobState::Pending: return "PENDING";
    case JobState::Running: return "RUNNING";
    case JobState::Completed: return "COMPLETED";
    case JobState::Failed: return "FAILED";
    case JobState::Cancelled: return "CANCELLED";
    case JobState::Unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

bool is_terminal(JobState s) {
  return s == JobState::Completed || s == JobState::Failed || s == JobState::Cancelled;
}

std::unique_ptr<ClusterBackend> make_backend(const std::string& cluster) {
  if (cluster == "local") return std::make_unique<LocalBackend>();
  if (cluster == "slurm" || cluster == "hyperpod-slurm") return std::make_unique<SlurmBackend>();
  if (cluster == "eks" || cluster == "hyperpod-eks") return std::make_unique<EksBackend>(cluster == "hyperpod-eks");
  if (cluster == "batch") return std::make_unique<BatchBackend>();
  throw UsageError(fmt::format("unknown cluster '{}'", cluster));
}

}  // namespace awsdt::launcher
