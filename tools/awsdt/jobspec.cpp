// JobSpec JSON and layered resolution (see jobspec.hpp).
#include "jobspec.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "args_merge.hpp"
#include "device/device.hpp"
#include "cluster/backend.hpp"
#include "escape.hpp"
#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt::launcher {

const std::vector<std::string>& cluster_kinds() {
  static const std::vector<std::string> kinds{"local", "slurm", "hyperpod-slurm", "eks", "hyperpod-eks", "batch"};
  return kinds;
}

Mount parse_mount(const std::string& m) {
  if (m.starts_with("pvc:")) {
    auto colon = m.find(':', 4);
    return {true, m.substr(4, colon - 4), colon == std::string::npos ? "" : m.substr(colon + 1)};
  }
  auto colon = m.find(':');
  return {false, m.substr(0, colon), colon == std::string::npos ? "" : m.substr(colon + 1)};
}

std::string user_name() {
  if (auto u = env_string("USER"); u && !u->empty()) return *u;
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : std::to_string(::geteuid());
}

void to_json(nlohmann::json& j, const EnvVar& v) { j = {{"name", v.name}, {"value", v.value}, {"reason", v.reason}}; }
void from_json(const nlohmann::json& j, EnvVar& v) {
  j.at("name").get_to(v.name);
  j.at("value").get_to(v.value);
  v.reason = j.value("reason", "");
}

// clang-format off
#define AWSDT_JOBSPEC_FIELDS(X) \
  X(name) X(test_case) X(executable) X(bin_dir) X(args) X(cluster) X(nodes) X(gpus_per_node) \
  X(tasks_per_node) X(instance_type) X(efa_devices) X(vcpus) X(memory_gib) X(container) X(mounts) X(env) \
  X(time_limit) X(partition) X(account) X(namespace_) X(queue) X(retries) X(auto_resume) X(launcher) X(extra) \
  X(allow_no_efa) X(job_dir) X(image_pull_policy)
// clang-format on

void to_json(nlohmann::json& j, const JobSpec& s) {
  j = nlohmann::json::object();
#define X(f) j[#f] = s.f;
  AWSDT_JOBSPEC_FIELDS(X)
#undef X
  j["inferred"] = s.inferred;
}

void from_json(const nlohmann::json& j, JobSpec& s) {
#define X(f) j.at(#f).get_to(s.f);
  AWSDT_JOBSPEC_FIELDS(X)
#undef X
  // Added later: jobs recorded before it have none.
  s.inferred = j.value("inferred", std::map<std::string, std::string>{});
}

namespace {

// ~/.config/awsdt/config.yaml: profiles: {NAME: {cluster: slurm, partition: p5, env: {K: V}, mounts: [...]}}
void merge_profile(const std::string& profile, JobFlags& flags) {
  auto base = env_string("XDG_CONFIG_HOME").value_or(env_string("HOME").value_or("/root") + "/.config");
  std::string path = base + "/awsdt/config.yaml";
  if (!std::filesystem::exists(path))
    throw UsageError(fmt::format("--profile {}: no profile file at {}", profile, path));
  YAML::Node root, p;
  try {
    root = YAML::LoadFile(path);
    p = root["profiles"][profile];  // throws when profiles: is not a map
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("{} is not valid YAML or has no profiles: map: {}", path, e.what()));
  }
  if (!p || !p.IsMap())
    throw UsageError(fmt::format("profile '{}' is not defined as a map under profiles: in {}", profile, path));
  auto str = [&](const char* key, std::optional<std::string>& target) {
    if (p[key] && !target) target = p[key].as<std::string>();
  };
  auto num = [&](const char* key, std::optional<int>& target) {
    if (p[key] && !target) target = p[key].as<int>();
  };
  try {
    str("cluster", flags.cluster);
    str("instance_type", flags.instance_type);
    str("container", flags.container);
    str("time", flags.time_limit);
    str("partition", flags.partition);
    str("account", flags.account);
    str("namespace", flags.namespace_);
    str("queue", flags.queue);
    str("launcher", flags.launcher);
    str("bin_dir", flags.bin_dir);
    num("nodes", flags.nodes);
    num("gpus_per_node", flags.gpus_per_node);
    num("tasks_per_node", flags.tasks_per_node);
    num("retries", flags.retries);
    std::vector<std::string> env, mounts;
    if (p["env"])
      for (const auto& kv : p["env"]) env.push_back(kv.first.as<std::string>() + "=" + kv.second.as<std::string>());
    if (p["mounts"])
      for (const auto& m : p["mounts"]) mounts.push_back(m.as<std::string>());
    flags.env.insert(flags.env.begin(), env.begin(), env.end());  // the command line still wins
    flags.mounts.insert(flags.mounts.begin(), mounts.begin(), mounts.end());
  } catch (const YAML::Exception& e) {
    throw UsageError(fmt::format("profile '{}' in {}: {}", profile, path, e.what()));
  }
}

void set_env(std::vector<EnvVar>& env, EnvVar v) {
  auto it = std::find_if(env.begin(), env.end(), [&](const EnvVar& e) { return e.name == v.name; });
  if (it != env.end())
    *it = std::move(v);
  else
    env.push_back(std::move(v));
}

// `instance_gpus`: the instance type's GPU count, when one was named.
void validate(JobSpec& s, std::optional<int> instance_gpus) {
  if (std::find(cluster_kinds().begin(), cluster_kinds().end(), s.cluster) == cluster_kinds().end())
    throw UsageError(fmt::format("unknown cluster '{}'; expected {}", s.cluster, fmt::join(cluster_kinds(), ", ")));
  if (s.nodes < 1) throw UsageError(fmt::format("--nodes {} must be at least 1", s.nodes));
  if (s.tasks_per_node < 1) throw UsageError(fmt::format("--tasks-per-node {} must be at least 1", s.tasks_per_node));
  if (s.gpus_per_node < 0) throw UsageError(fmt::format("--gpus-per-node {} must not be negative", s.gpus_per_node));
  if (s.retries < 0) throw UsageError(fmt::format("--retries {} must not be negative", s.retries));
  if (instance_gpus && s.gpus_per_node > *instance_gpus)
    throw UsageError(
        fmt::format("--gpus-per-node {} is more than {} has ({})", s.gpus_per_node, s.instance_type, *instance_gpus));
  if (s.gpus_per_node > 0 && s.tasks_per_node > s.gpus_per_node)
    throw UsageError(fmt::format("--tasks-per-node {} is more than --gpus-per-node {}: NCCL runs one rank per GPU",
                                 s.tasks_per_node, s.gpus_per_node));
  if (s.container.find_first_of(" \t\r\n\v\f") != std::string::npos)
    throw UsageError(fmt::format("--container {} is not an image name: it has whitespace", json_quote(s.container)));
  require_plain(s.name, "job name");
  if (!s.partition.empty()) require_plain(s.partition, "--partition");
  if (!s.account.empty()) require_plain(s.account, "--account");
  if (!s.queue.empty()) require_plain(s.queue, "--queue");
  if (!s.time_limit.empty() && !std::regex_match(s.time_limit, std::regex(R"(\d+|(\d+-)?\d{1,2}:\d{2}:\d{2})")))
    throw UsageError(fmt::format("--time {} is not minutes or [D-]HH:MM:SS", json_quote(s.time_limit)));
  if (s.launcher != "srun" && s.launcher != "mpirun" && s.launcher != "torchrun")
    throw UsageError(fmt::format("--launcher {} is not srun, mpirun or torchrun", json_quote(s.launcher)));
  for (const auto& e : s.env) require_env_name(e.name);
  for (const auto& x : s.extra)
    if (!x.starts_with("--") || x.find_first_of("\r\n") != std::string::npos)
      throw UsageError(
          fmt::format("--extra {} must be one scheduler option starting with -- on one line", json_quote(x)));
  const bool kubernetes = s.cluster == "eks" || s.cluster == "hyperpod-eks";
  for (const auto& m : s.mounts) {
    auto mount = parse_mount(m);
    if (mount.pvc) {
      if (!std::regex_match(mount.source, std::regex(R"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)")) ||
          !mount.target.starts_with("/") || m.find_first_of(",\n") != std::string::npos)
        throw UsageError(fmt::format(
            "--mount {} must be pvc:CLAIM:/container/path (a PersistentVolumeClaim's name: lowercase letters, "
            "digits, '-', '.')",
            json_quote(m)));
      if (!kubernetes)
        throw UsageError(
            fmt::format("--mount {} mounts a PersistentVolumeClaim, which only --cluster eks and "
                        "hyperpod-eks have; --cluster {} mounts host paths (/host/path:/container/path)",
                        json_quote(m), s.cluster));
      continue;
    }
    if (m.find(':') == std::string::npos || m.size() < 3 || !mount.source.starts_with("/") ||
        !mount.target.starts_with("/") || m.find_first_of(",\n") != std::string::npos)
      throw UsageError(fmt::format("--mount {} must be /host/path:/container/path (absolute, no commas){}",
                                   json_quote(m), kubernetes ? " or pvc:CLAIM:/container/path" : ""));
  }
  make_backend(s.cluster)->validate(s);
}

// Layer 2 for a node that no --instance-type describes: what Slurm said about its partition's nodes. Without an
// answer, no GPUs: a GRES the partition lacks makes sbatch refuse the job.
void apply_slurm_nodes(JobSpec& s, const Manifest& m, const SlurmNodes& n) {
  s.gpus_per_node = n.learned ? n.gpus : 0;
  if (s.gpus_per_node > 0)
    s.tasks_per_node = s.gpus_per_node;
  else if (n.cpus > 0)
    s.tasks_per_node = std::min(m.tasks_per_node, n.cpus);
  s.inferred = n.record();
}

}  // namespace

void apply_profile(JobFlags& flags) {
  if (!flags.profile.empty()) merge_profile(flags.profile, flags);
  flags.profile.clear();
}

JobSpec resolve_jobspec(const Manifest& m, const Catalog& catalog, const JobFlags& flags_in, const SlurmNodes* nodes) {
  JobFlags flags = flags_in;
  apply_profile(flags);
  // A feature of the partition's nodes that names an instance type stands for --instance-type.
  if (!flags.instance_type && nodes && !nodes->instance_type.empty()) flags.instance_type = nodes->instance_type;

  JobSpec s;
  // 1. the test case manifest
  s.test_case = m.name;
  s.executable = m.executable;
  s.name = "awsdt-" + m.name;
  // A test case that checkpoints resumes after a preemption only if the scheduler may start it again.
  s.retries = m.checkpoint_flag.empty() ? 0 : 3;
  s.cluster = flags.cluster.value_or("local");
  bool local = s.cluster == "local";
  s.tasks_per_node = local ? m.local_ranks : m.tasks_per_node;
  s.gpus_per_node = local ? 0 : m.gpus_per_node;
  if (local) {
    // On a machine with GPUs, one rank per visible GPU (torchrun's --nproc-per-node=gpu): the benchmarks put
    // each rank on the GPU of its local rank.
    if (const int gpus = cuda_device_count(); gpus > 0) s.tasks_per_node = s.gpus_per_node = gpus;
  }
  // 2. the instance catalog
  std::optional<int> instance_gpus;
  if (flags.instance_type) {
    const auto& t = catalog.find_or_throw(*flags.instance_type);
    instance_gpus = t.gpus;
    s.instance_type = t.name;
    s.efa_devices = t.efa;
    s.vcpus = t.vcpus;
    s.memory_gib = t.memory_gib;
    s.gpus_per_node = t.gpus;
    s.tasks_per_node = std::max(1, t.gpus);
    for (const auto& v : catalog.environment_for(t)) set_env(s.env, {v.name, v.value, v.reason});
    if (nodes && nodes->instance_type == t.name) s.inferred = nodes->record();
  } else if (nodes) {
    apply_slurm_nodes(s, m, *nodes);
  }
  // A test case that checks whole nodes keeps one rank per node on GPU nodes too (the GPUs are still requested).
  if (m.one_rank_per_node) s.tasks_per_node = 1;
  // 3./4. profile (merged into flags above) and the command line
  if (flags.name) s.name = *flags.name;
  if (flags.nodes) s.nodes = *flags.nodes;
  if (flags.gpus_per_node) s.gpus_per_node = *flags.gpus_per_node;
  if (flags.tasks_per_node) s.tasks_per_node = *flags.tasks_per_node;
  if (flags.retries) s.retries = *flags.retries;
  if (flags.container) s.container = *flags.container;
  if (flags.time_limit) s.time_limit = *flags.time_limit;
  if (flags.partition) s.partition = *flags.partition;
  if (flags.account) s.account = *flags.account;
  if (flags.namespace_) s.namespace_ = *flags.namespace_;
  if (flags.queue) s.queue = *flags.queue;
  if (flags.launcher) s.launcher = *flags.launcher;
  if (flags.bin_dir) s.bin_dir = *flags.bin_dir;
  if (flags.job_dir) s.job_dir = *flags.job_dir;
  s.mounts.insert(s.mounts.end(), flags.mounts.begin(), flags.mounts.end());
  for (const auto& kv : flags.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("--env {} is not KEY=VALUE", json_quote(kv)));
    set_env(s.env, {kv.substr(0, eq), kv.substr(eq + 1), ""});
  }
  s.extra = flags.extra;
  // A cluster's GPU nodes get the manifest's cluster arguments; a local run, or CPU nodes, the default ones.
  const bool gpu_cluster = !local && s.gpus_per_node > 0 && !m.cluster_args.empty();
  s.args = merge_args(gpu_cluster ? m.cluster_args : m.default_args, flags.args, m.subcommands);
  s.allow_no_efa = flags.allow_no_efa;
  s.auto_resume = s.cluster == "hyperpod-slurm";
  validate(s, instance_gpus);
  return s;
}

}  // namespace awsdt::launcher
