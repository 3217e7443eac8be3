// Template data (see render_data.hpp).
#include "render_data.hpp"

#include <algorithm>
#include <filesystem>

#include "awsdt/config.hpp"
#include "util/signals.hpp"

namespace awsdt::launcher {

using kainjow::mustache::data;
namespace fs = std::filesystem;

std::vector<std::string> rank_command(const JobSpec& s) {
  std::vector<std::string> cmd{s.bin_dir.empty() ? s.executable : s.bin_dir + "/" + s.executable};
  cmd.insert(cmd.end(), s.args.begin(), s.args.end());
  return cmd;
}

std::string enroot_image(const std::string& image) {
  if (image.starts_with("/") || image.starts_with(".") || image.ends_with(".sqsh") ||
      image.find('#') != std::string::npos)
    return image;
  auto slash = image.find('/');
  if (slash == std::string::npos) return image;
  auto host = image.substr(0, slash);
  host = host.substr(host.find('@') + 1);  // after USER@, if any
  // Docker's rule for telling a registry from a Docker Hub namespace (nvidia/cuda stays as it is).
  if (host.find_first_of(".:") == std::string::npos && host != "localhost") return image;
  return image.substr(0, slash) + "#" + image.substr(slash + 1);
}

namespace {
// Whether one of `mounts` (SRC:DST) has SRC == DST and `path` under it: the container sees `path` as the host does.
bool shows_at_same_path(const std::vector<std::string>& mounts, const std::string& path) {
  auto norm = [](const std::string& p) { return (fs::path(p) / "").lexically_normal(); };  // "/a" == "/a/"
  return std::any_of(mounts.begin(), mounts.end(), [&](const std::string& m) {
    auto colon = m.find(':');
    auto src = norm(m.substr(0, colon));
    if (src != norm(m.substr(colon + 1))) return false;
    auto rel = norm(path).lexically_relative(src);
    return !rel.empty() && *rel.begin() != "..";
  });
}
}  // namespace

data template_data(const JobSpec& s, const std::string& file_name) {
  data d;
  auto flag = [&](const char* key, bool on) { d.set(key, on ? data::type::bool_true : data::type::bool_false); };
  d.set("awsdt_version", AWSDT_VERSION);
  d.set("test_case", s.test_case);
  d.set("job_name", s.name);
  d.set("script_name", file_name);
  d.set("file_name", file_name);
  d.set("nodes", std::to_string(s.nodes));
  d.set("tasks_per_node", std::to_string(s.tasks_per_node));
  d.set("total_tasks", std::to_string(s.total_tasks()));
  d.set("gpus_per_node", std::to_string(s.gpus_per_node));
  d.set("retries", std::to_string(s.retries));
  d.set("attempts", std::to_string(std::min(10, s.retries + 1)));  // AWS Batch allows 1..10
  d.set("time_limit", s.time_limit);
  d.set("partition", s.partition);
  d.set("account", s.account);
  d.set("queue", s.queue);
  d.set("namespace", s.namespace_);
  d.set("instance_type", s.instance_type);
  d.set("ml_instance_type", "ml." + s.instance_type);  // SageMaker's name, as HyperPod labels its nodes
  d.set("efa_devices", std::to_string(s.efa_devices));
  d.set("container", s.container);
  d.set("pyxis_image", enroot_image(s.container));
  d.set("image_pull_policy", s.image_pull_policy);
  d.set("job_dir", s.job_dir);
  d.set("exit_requeue", std::to_string(kExitRequeue));  // "checkpointed, start me again" (util/signals.hpp)
  flag("has_gpus", s.gpus_per_node > 0);
  flag("has_time", !s.time_limit.empty());
  flag("has_partition", !s.partition.empty());
  flag("has_account", !s.account.empty());
  flag("has_container", !s.container.empty());
  flag("has_mounts", !s.mounts.empty());
  flag("has_instance", !s.instance_type.empty());
  flag("has_efa", s.efa_devices > 0);
  // GPU node groups are commonly tainted so that only GPU work lands there: nvidia.com/gpu (EKS's accelerated
  // AMIs' guidance, the GPU operator), and vpc.amazonaws.com/efa on EFA node groups.
  flag("has_tolerations", s.gpus_per_node > 0 || s.efa_devices > 0);
  flag("has_env", !s.env.empty());
  flag("auto_resume", s.auto_resume);
  flag("use_srun", s.launcher == "srun");
  flag("use_mpirun", s.launcher == "mpirun");
  flag("has_workers", s.nodes > 1);
  d.set("worker_replicas", std::to_string(std::max(0, s.nodes - 1)));

  // Requests leave headroom for the node's system daemons (kubelet, ECS agent): 90% of memory, vCPUs less 4.
  int memory_gib = s.memory_gib > 0 ? s.memory_gib * 9 / 10 : 16;
  d.set("memory_request_gib", std::to_string(memory_gib));
  d.set("memory_request_mib", std::to_string(memory_gib * 1024));
  d.set("vcpu_request", std::to_string(s.vcpus > 8 ? s.vcpus - 4 : std::max(1, s.vcpus)));
  d.set("shm_mib", std::to_string(std::max(1024, memory_gib * 1024 / 4)));

  data env{data::type::list};
  std::string env_names;  // NAME,NAME for batch-entry --forward-env (validated names hold no comma)
  for (const auto& e : s.env) {
    env_names += (env_names.empty() ? "" : ",") + e.name;
    data v;
    v.set("name", e.name);
    v.set("value", e.value);
    if (!e.reason.empty())
      v.set("reason", e.reason);
    else
      v.set("reason", data::type::bool_false);
    env.push_back(v);
  }
  d.set("env", env);
  d.set("env_names", env_names);

  data mounts{data::type::list};
  std::string joined;
  int index = 0;
  for (const auto& m : s.mounts) {
    auto mount = parse_mount(m);
    data v;
    v.set("src", mount.source);
    v.set("dst", mount.target);
    v.set("pvc", mount.pvc ? data::type::bool_true : data::type::bool_false);  // Kubernetes: claimName src
    v.set("volume", "mount-" + std::to_string(index++));
    v.set("last", index == int(s.mounts.size()) ? data::type::bool_true : data::type::bool_false);
    mounts.push_back(v);
    joined += (joined.empty() ? "" : ",") + m;
  }
  d.set("mounts", mounts);
  // Pyxis: enroot mounts neither $HOME nor the shared filesystem by default, and the job directory holds the
  // result file and Slurm's checkpoints: mount it at its own path unless a mount already shows it there.
  if (!s.job_dir.empty() && !shows_at_same_path(s.mounts, s.job_dir))
    joined += (joined.empty() ? "" : ",") + s.job_dir + ":" + s.job_dir;
  d.set("container_mounts", joined);

  data command{data::type::list};
  for (const auto& a : rank_command(s)) {
    data v;
    v.set("arg", a);
    command.push_back(v);
  }
  d.set("command", command);

  data extra{data::type::list};
  for (const auto& x : s.extra) {
    data v;
    v.set("flag", x);
    extra.push_back(v);
  }
  d.set("extra", extra);

  data efa{data::type::list};
  for (int i = 0; i < s.efa_devices; ++i) {
    data v;
    v.set("index", std::to_string(i));
    v.set("last", i + 1 == s.efa_devices ? data::type::bool_true : data::type::bool_false);
    efa.push_back(v);
  }
  d.set("efa_list", efa);
  return d;
}

}  // namespace awsdt::launcher
