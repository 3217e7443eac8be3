// AWS Batch: a multi-node parallel job definition registered under a content-hashed name (an unchanged one is
// reused), SubmitJob with nodeOverrides, describe-jobs in batches of 100, terminate-job, CloudWatch logs.
#pragma once

#include "cluster/backend.hpp"

namespace awsdt::launcher {

class BatchBackend final : public ClusterBackend {
 public:
  void validate(const JobSpec& spec) const override;
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override;
  std::string submit(const JobSpec& spec, const Artifacts& artifacts, const std::filesystem::path& job_dir) override;
  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override;
  std::string logs(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir, int rank) override;
  void cancel(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir) override;
};

/// The AWS CLI v2 (the Debian package's /usr/bin/aws when present: an older v1 can shadow it on PATH).
std::string aws_cli();

}  // namespace awsdt::launcher
