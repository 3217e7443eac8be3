// Slurm and HyperPod Slurm: an sbatch script (pyxis containers optional), sbatch --parsable, one batched
// squeue/sacct/scontrol query for status, scancel.
#pragma once

#include "cluster/backend.hpp"

namespace awsdt::launcher {

class SlurmBackend final : public ClusterBackend {
 public:
  void validate(const JobSpec& spec) const override;
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override;
  std::string submit(const JobSpec& spec, const Artifacts& artifacts, const std::filesystem::path& job_dir) override;
  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override;
  std::string logs(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir, int rank) override;
  void cancel(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir) override;
};

/// Slurm's state names (COMPLETED, CANCELLED by 0, NODE_FAIL, ...) mapped to ours.
JobState slurm_state(const std::string& name);

}  // namespace awsdt::launcher
