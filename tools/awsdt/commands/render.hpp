// `awsdt render`: writes a job's artifacts (sbatch script, Kubernetes manifest, Batch JSON) and submits nothing.
#pragma once

#include <filesystem>
#include <string>

#include "cluster/backend.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

void setup_render(CLI::App& app);
/// The templates for a command: --templates DIR, or the built-in ones.
TemplateSet load_templates(const std::string& dir);
/// Writes every artifact and jobspec.json into `dir` (created), each file atomically; all of them or, when one
/// cannot be written (a full disk), none: what it wrote and the directories it created are removed before it
/// throws. `what` names the directory in errors (the flag that chose it).
void write_artifacts(const std::filesystem::path& dir, const Artifacts& artifacts, const JobSpec& spec,
                     const std::string& what);

}  // namespace awsdt::launcher
