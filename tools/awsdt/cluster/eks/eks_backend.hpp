// EKS and HyperPod EKS: MPIJob (kubeflow.org/v2beta1) for MPI launches, PyTorchJob (kubeflow.org/v1) or, on
// HyperPod, HyperPodPyTorchJob with the environment bootstrap; kubectl apply / get -o json / logs / delete.
#pragma once

#include "cluster/backend.hpp"

namespace awsdt::launcher {

class EksBackend final : public ClusterBackend {
 public:
  void validate(const JobSpec& spec) const override;
  explicit EksBackend(bool hyperpod) : hyperpod_(hyperpod) {}
  Artifacts render(const JobSpec& spec, const TemplateSet& templates) const override;
  std::string submit(const JobSpec& spec, const Artifacts& artifacts, const std::filesystem::path& job_dir) override;
  std::map<std::string, JobStatus> status(const std::vector<std::string>& ids,
                                          const std::vector<JobSpec>& specs) override;
  std::string logs(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir, int rank) override;
  void cancel(const std::string& id, const JobSpec& spec, const std::filesystem::path& job_dir) override;

 private:
  /// mpijob, pytorchjob or hyperpodpytorchjob: which resource this spec renders to.
  std::string kind(const JobSpec& spec) const;
  bool hyperpod_;
};

}  // namespace awsdt::launcher
