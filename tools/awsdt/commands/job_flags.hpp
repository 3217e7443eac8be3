// The flags shared by `awsdt render` and `awsdt run` that describe a job (cluster, nodes, instance type, ...).
#pragma once

#include <optional>
#include <string>

#include "jobspec.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::launcher {

struct JobCommand {
  std::string test_case;
  std::string test_cases_dir;  ///< --test-cases override
  std::string templates_dir;   ///< --templates override
  JobFlags flags;
};

/// Adds the test case positional, the job flags and `-- <benchmark args>` to `cmd`.
void add_job_flags(CLI::App* cmd, JobCommand& job);
/// Refuses what `cmd` did not recognise before `--`; a benchmark's flag typed there (`awsdt run collectives -b 1M`)
/// is named with the program it belongs to and the `--` it needs.
void refuse_stray_flags(const CLI::App& cmd, const JobCommand& job);
/// The directory of this awsdt: its build's executables are beside it (nullopt when /proc cannot say).
std::optional<std::string> self_dir();
/// Resolves the JobSpec for `job` (manifest, catalog, profile, flags).
JobSpec resolve(const JobCommand& job, Manifest* manifest_out = nullptr);

}  // namespace awsdt::launcher
