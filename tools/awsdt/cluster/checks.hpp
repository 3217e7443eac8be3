// Checks that several cluster backends make on a JobSpec (each backend's validate() picks those that apply to
// it). Each throws UsageError naming the value and what the cluster accepts.
#pragma once

#include "jobspec.hpp"

namespace awsdt::launcher::checks {

/// --launcher torchrun renders a PyTorchJob: only plain EKS has one.
void refuse_torchrun(const JobSpec& s);
/// --extra options are sbatch's: refused where nothing would pass them on.
void refuse_extra(const JobSpec& s);
/// Clusters that run containers need --container.
void require_container(const JobSpec& s);
/// Clusters whose GPU, EFA and memory requests come from the instance catalog need --instance-type.
void require_instance_type(const JobSpec& s);
/// EFA by construction: a multi-node job either has the EFA environment or says it does without.
void require_efa_across_nodes(const JobSpec& s);

}  // namespace awsdt::launcher::checks
