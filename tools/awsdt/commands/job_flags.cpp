// Shared job flags (see job_flags.hpp).
#include "commands/job_flags.hpp"

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "escape.hpp"
#include "process.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {

namespace {
// A repeatable option taking one value per occurrence: a greedy vector option would swallow the `--` that
// separates benchmark arguments.
void repeatable(CLI::Option* o) {
  o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->allow_extra_args(false);
}

// A CLI11 check from a function that throws UsageError: its message, after the flag's name ("--env: ...").
template <class Check>
CLI::Validator refusing(Check check, const std::string& what) {
  return CLI::Validator(
      [check](std::string& value) -> std::string {
        try {
          check(value);
          return "";
        } catch (const UsageError& e) {
          return e.what();
        }
      },
      what);
}
}  // namespace

void add_job_flags(CLI::App* cmd, JobCommand& j) {
  auto& f = j.flags;
  cmd->add_option("test_case", j.test_case, "test case name (see `awsdt list`)")->required();
  cmd->add_option("--cluster", f.cluster, "local | slurm | hyperpod-slurm | eks | hyperpod-eks | batch (default local)")
      ->check(CLI::IsMember(cluster_kinds()));
  cmd->add_option("-N,--nodes", f.nodes, "nodes");
  cmd->add_option("--gpus-per-node", f.gpus_per_node, "GPUs per node (default: the instance type's)");
  cmd->add_option("--tasks-per-node", f.tasks_per_node, "ranks per node (default: one per GPU)");
  cmd->add_option("--instance-type", f.instance_type,
                  "EC2 instance type (architectures/instances.json); SageMaker's ml. prefix is accepted");
  cmd->add_option("--container", f.container, "container image (pyxis on Slurm; required on EKS and Batch)");
  repeatable(cmd->add_option("--mount", f.mounts, "SRC:DST container mount, or pvc:CLAIM:DST on EKS (repeatable)"));
  repeatable(cmd->add_option("--env", f.env, "KEY=VALUE for every rank (repeatable)")
                 ->check(refusing(
                     [](const std::string& v) {
                       if (v.find('=') != std::string::npos) require_env_name(v.substr(0, v.find('=')));
                     },
                     "")));
  cmd->add_option("--time", f.time_limit, "time limit: minutes or [D-]HH:MM:SS");
  cmd->add_option("--partition", f.partition, "Slurm partition");
  cmd->add_option("--account", f.account, "Slurm account");
  cmd->add_option("--namespace", f.namespace_, "Kubernetes namespace (default: default)");
  cmd->add_option("--queue", f.queue, "AWS Batch job queue");
  cmd->add_option("--retries", f.retries,
                  "restarts after a failure or preemption (Slurm requeues; EKS backoffLimit; "
                  "Batch attempts-1); default 3 for test cases that checkpoint, else 0");
  cmd->add_option("--launcher", f.launcher, "srun (default, --mpi=pmix) | mpirun | torchrun (EKS PyTorchJob)");
  cmd->add_option("--name", f.name, "job name (default awsdt-<test case>)")
      ->check(refusing([](const std::string& v) { require_plain(v, "job name"); }, ""));
  cmd->add_option("--bin-dir", f.bin_dir,
                  "where the awsdt executables are on the cluster (default: beside this awsdt; in a --container, "
                  "the image's PATH)");
  cmd->add_option("--job-dir", f.job_dir, "where artifacts and logs go (default: under $XDG_STATE_HOME/awsdt/jobs)");
  repeatable(cmd->add_option("--extra,--sbatch-arg", f.extra,
                             "scheduler option passed through, e.g. --sbatch-arg=--qos=high (repeatable)"));
  cmd->add_option("--profile", f.profile, "named defaults from ~/.config/awsdt/config.yaml");
  cmd->add_flag("--allow-no-efa", f.allow_no_efa, "allow a multi-node job without EFA (falls back to TCP)");
  cmd->add_option("--test-cases", j.test_cases_dir, "directory holding <name>/test_case.json");
  cmd->add_option("--templates", j.templates_dir, "directory of job templates (default: the ones built in)");
  cmd->add_option("args", f.args, "benchmark arguments after --, merged flag by flag onto the test case's defaults");
  // A benchmark's flag typed without the `--` before it is not an error CLI11 could explain: keep it, and
  // refuse_stray_flags() names the program it belongs to.
  cmd->allow_extras();
}

std::optional<std::string> self_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return self.parent_path().string();
}

namespace {

bool is_slurm(const std::string& cluster) { return cluster == "slurm" || cluster == "hyperpod-slurm"; }

// Whether `flag` (-b, --iters, --iters=5) is an option of `exe`: the first words of its --help's option lines.
bool is_flag_of(const std::string& exe, const std::string& flag) {
  std::error_code ec;
  if (!std::filesystem::exists(exe, ec)) return false;
  auto r = run_process({exe, "--help"});
  if (r.status != 0) return false;
  const std::string name = flag.substr(0, flag.find('='));
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(' ');
    if (start == std::string::npos || start == 0 || line[start] != '-') continue;
    std::istringstream names(line.substr(start, line.find(' ', start) - start));
    for (std::string n; std::getline(names, n, ',');)
      if (n == name) return true;
  }
  return false;
}

}  // namespace

void refuse_stray_flags(const CLI::App& cmd, const JobCommand& j) {
  std::vector<std::string> stray;
  for (auto& a : cmd.remaining())
    if (a != "--") stray.push_back(a);  // CLI11 keeps the `--` itself among the remaining words
  if (stray.empty()) return;
  const std::string& flag = stray.front();
  const std::string sub = cmd.get_name();
  if (!flag.starts_with("-")) throw UsageError(fmt::format("awsdt {}: unexpected argument {}", sub, flag));
  std::string exe;
  try {
    exe = find_manifest(test_cases_dir(j.test_cases_dir), j.test_case).executable;
  } catch (const UsageError&) {
    throw UsageError(fmt::format("awsdt {} has no flag {}", sub, flag));
  }
  auto dir = self_dir();
  if (dir && is_flag_of(*dir + "/" + exe, flag))
    throw UsageError(fmt::format("{} is a flag of {}, not of awsdt {}: put it after --, as in `awsdt {} {} -- {} ...`",
                                 flag, exe, sub, sub, j.test_case, flag));
  throw UsageError(fmt::format("awsdt {} has no flag {} (flags of {} go after --: `awsdt {} {} -- ...`)", sub, flag,
                               exe, sub, j.test_case));
}

JobSpec resolve(const JobCommand& j, Manifest* manifest_out) {
  auto m = find_manifest(test_cases_dir(j.test_cases_dir), j.test_case);
  auto catalog = Catalog::load(architectures_dir());
  auto flags = j.flags;
  apply_profile(flags);
  const auto cluster = flags.cluster.value_or("local");
  // Without a container the ranks run the executables built beside this awsdt (on a cluster, the build on the
  // shared filesystem): a bare name searched on the nodes' PATH finds nothing there. A container has its own.
  if (!flags.bin_dir && (cluster == "local" || (is_slurm(cluster) && !flags.container))) flags.bin_dir = self_dir();
  std::optional<SlurmNodes> nodes;
  if (is_slurm(cluster) && !flags.instance_type) {
    nodes = ask_slurm(flags.partition.value_or(""), catalog);
    if (!nodes->learned && !flags.gpus_per_node)
      std::cerr << "awsdt: no --instance-type and Slurm could not be asked about the nodes (" << nodes->why
                << "): requesting no GPUs; pass --instance-type or --gpus-per-node\n";
  }
  auto spec = resolve_jobspec(m, catalog, flags, nodes ? &*nodes : nullptr);
  if (manifest_out) *manifest_out = m;
  return spec;
}

}  // namespace awsdt::launcher
