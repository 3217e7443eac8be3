// Checks shared by cluster backends (see checks.hpp).
#include "cluster/checks.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "escape.hpp"
#include "util/error.hpp"

namespace awsdt::launcher::checks {

void refuse_torchrun(const JobSpec& s) {
  if (s.launcher == "torchrun")
    throw UsageError(
        fmt::format("--launcher torchrun renders a PyTorchJob and needs --cluster eks (not {})", s.cluster));
}

void refuse_extra(const JobSpec& s) {
  if (!s.extra.empty())
    throw UsageError(fmt::format("--extra {} is passed to sbatch only; --cluster {} has no use for it",
                                 json_quote(s.extra.front()), s.cluster));
}

void require_container(const JobSpec& s) {
  if (s.container.empty())
    throw UsageError(fmt::format("--cluster {} runs containers: pass --container IMAGE", s.cluster));
}

void require_instance_type(const JobSpec& s) {
  if (s.instance_type.empty())
    throw UsageError(
        fmt::format("--cluster {} needs --instance-type (GPU, EFA and memory requests come from it)", s.cluster));
}

void require_efa_across_nodes(const JobSpec& s) {
  const bool efa_env = std::any_of(s.env.begin(), s.env.end(),
                                   [](const EnvVar& e) { return e.name == "FI_PROVIDER" && e.value == "efa"; });
  if (s.nodes <= 1 || s.allow_no_efa) return;
  if (s.instance_type.empty())
    throw UsageError("a multi-node job needs --instance-type so awsdt can configure EFA (or --allow-no-efa)");
  if (s.efa_devices > 0 && !efa_env)
    throw UsageError(
        fmt::format("{} has {} EFA devices but this job would not use EFA (FI_PROVIDER is not efa); "
                    "pass --allow-no-efa to run over TCP anyway",
                    s.instance_type, s.efa_devices));
  // NCCL reaches EFA only through the aws-ofi-nccl plugin, which answers to any of these names (case aside).
  auto net = std::find_if(s.env.begin(), s.env.end(), [](const EnvVar& e) { return e.name == "NCCL_NET"; });
  auto lower = [](std::string v) {
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return v;
  };
  if (s.efa_devices > 0 && s.gpus_per_node > 0 && net != s.env.end() &&
      !std::set<std::string>{"aws libfabric", "libfabric", "ofi"}.count(lower(net->value)))
    throw UsageError(
        fmt::format("NCCL_NET={} on {} takes NCCL off EFA (its plugin is \"AWS Libfabric\"); "
                    "pass --allow-no-efa to run over it anyway",
                    json_quote(net->value), s.instance_type));
}

}  // namespace awsdt::launcher::checks
