// Job templates (architectures/<cluster>/*.mustache), embedded at build time or read from --templates DIR, and
// their rendering: {{value}} is escaped for the target file (JSON-encoded in .yaml, .yml and .json, shell-quoted in
// every other file: scripts, systemd units, slurm.conf), {{{value}}} is for values awsdt computed or validated itself.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <kainjow/mustache.hpp>

namespace awsdt::launcher {

class TemplateSet {
 public:
  /// The templates compiled into this awsdt.
  static TemplateSet embedded();
  /// Every *.mustache below `dir` (same relative names as architectures/); throws UsageError when unreadable.
  static TemplateSet from_directory(const std::filesystem::path& dir);
  /// Renders "slurm/sbatch.sh" (the file without .mustache). Partials ({{>name}}) resolve to any template
  /// with that base name. Throws UsageError naming the template on a syntax error.
  std::string render(const std::string& name, const kainjow::mustache::data& data) const;
  /// Every template's name ("slurm/sbatch.sh", "services/exporter/eks/daemonset.yaml"), sorted.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::string> files_;  ///< "slurm/sbatch.sh" -> template text
};

}  // namespace awsdt::launcher
