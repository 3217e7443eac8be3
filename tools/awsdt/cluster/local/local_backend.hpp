// The local backend: mpirun on this machine, detached, with its log and exit status in the job directory.
#pragma once

#include "cluster/backend.hpp"

namespace awsdt::launcher {

class LocalBackend final : public ClusterBackend {
 public:
  void validate(const JobSpec& spec) const override;
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override;
  std::string submit(const JobSpec& spec, const Artifacts& artifacts, const std::filesystem::path& job_dir) override;
  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override;
  std::string logs(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir, int rank) override;
  void cancel(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir) override;
};

}  // namespace awsdt::launcher
