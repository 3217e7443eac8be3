// Checks before submitting (see preflight.hpp).
#include "commands/preflight.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "jobdb.hpp"
#include "process.hpp"
#include "shared_fs.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;

namespace {

bool is_slurm(const JobSpec& s) { return s.cluster == "slurm" || s.cluster == "hyperpod-slurm"; }

// Ranks run this machine's build: the local cluster, and Slurm without a container.
bool runs_host_build(const JobSpec& s) { return s.cluster == "local" || (is_slurm(s) && s.container.empty()); }

// The value of `flag` in args (`FLAG V` or `FLAG=V`), or "".
std::string flag_value(const std::vector<std::string>& args, const std::string& flag) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) return args[i + 1];
    if (args[i].starts_with(flag + "=")) return args[i].substr(flag.size() + 1);
  }
  return "";
}

void check_executable(const JobSpec& s) {
  auto exe = fs::path(s.bin_dir) / s.executable;
  if (!fs::exists(exe))
    throw UsageError(
        fmt::format("{} does not exist: build it there, or pass --bin-dir with the directory that holds "
                    "{} on the cluster",
                    exe.string(), s.executable));
  if (s.cluster == "local") return;
  auto info = filesystem_of(s.bin_dir);
  if (!info.shared)
    std::cerr << fmt::format(
        "awsdt: warning: {} is on {} ({}), not a shared filesystem: the compute nodes may not see it; build on "
        "the shared filesystem (e.g. /fsx) or pass --bin-dir\n",
        s.bin_dir, info.type, info.path);
}

// A checkpointing multi-node job whose ranks save into directories the other nodes cannot read resumes from
// nothing, or from a mix of shards.
void check_checkpoint_dir(const JobSpec& s, const Manifest& m) {
  if (!is_slurm(s) || s.nodes < 2 || m.checkpoint_flag.empty()) return;
  auto dir = flag_value(s.args, m.checkpoint_flag);
  if (dir.empty()) return;
  auto info = filesystem_of(dir);
  if (!info.shared)
    throw UsageError(fmt::format(
        "{} {} is on {} ({}), which the other nodes of this {}-node job do not see; put the job on a shared "
        "filesystem (AWSDT_JOB_ROOT=/fsx/..., --job-dir) or pass {} DIR on one",
        m.checkpoint_flag, dir, info.type, info.path, s.nodes, m.checkpoint_flag));
}

// The benchmark's own parser and validation, run here (no ranks, no communication) on the final arguments.
void check_arguments(const JobSpec& s, const Manifest& m) {
  if (m.check_args_flag.empty() || !runs_host_build(s)) return;
  std::vector<std::string> argv{(fs::path(s.bin_dir) / s.executable).string(), m.check_args_flag,
                                std::to_string(s.total_tasks())};
  argv.insert(argv.end(), s.args.begin(), s.args.end());
  auto r = run_process(argv);
  if (r.status == 0) return;
  auto text = r.err.empty() ? r.out : r.err;
  auto line = text.substr(0, text.find('\n'));
  if (line.starts_with("error: ")) line = line.substr(7);
  throw UsageError(fmt::format("{}: {}", s.executable, line.empty() ? "refused its arguments" : line));
}

}  // namespace

void preflight(const JobSpec& spec, const Manifest& manifest) {
  if (runs_host_build(spec)) check_executable(spec);
  check_checkpoint_dir(spec, manifest);
  check_arguments(spec, manifest);
}

std::string default_job_root(const JobSpec& spec) {
  if (auto root = env_string("AWSDT_JOB_ROOT"); root && !root->empty()) return *root;
  if (is_slurm(spec)) {
    std::vector<std::string> candidates;
    for (const auto& m : spec.mounts) candidates.push_back(parse_mount(m).source);
    candidates.push_back("/fsx");
    for (const auto& c : candidates)
      if (fs::is_directory(c) && filesystem_of(c).shared)
        return (fs::path(c) / "awsdt" / user_name() / "jobs").string();
  }
  return JobDb::state_dir() + "/jobs";
}

}  // namespace awsdt::launcher
