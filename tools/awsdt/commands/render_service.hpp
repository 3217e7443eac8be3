// `awsdt render <service>`: install artifacts for a service that runs on every node (awsdt-exporter, the health
// checks) rather than a job: a systemd unit or slurm.conf fragment on Slurm, a DaemonSet on EKS. Templates live in
// architectures/services/<service>/<cluster>/ and see the names listed in docs/launcher.md.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "commands/job_flags.hpp"
#include "templates.hpp"

namespace awsdt::launcher {

/// The services `templates` has install artifacts for (folder names under services/).
std::vector<std::string> service_names(const TemplateSet& templates);
/// Renders service `job.test_case` for `job.flags.cluster` into `dir` (default ./awsdt-<service>-<cluster>) and
/// returns the written paths. Throws UsageError for a cluster the service has no templates for, or a job flag that
/// means nothing to a service.
std::vector<std::filesystem::path> render_service(const JobCommand& job, const TemplateSet& templates,
                                                  const std::optional<std::filesystem::path>& dir);

}  // namespace awsdt::launcher
