// Asking Slurm about a partition's nodes (see slurm_nodes.hpp).
#include "cluster/slurm/slurm_nodes.hpp"

#include <filesystem>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "process.hpp"
#include "util/env.hpp"

namespace awsdt::launcher {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

// "gpu:8", "gpu:h100:8(S:0-1)", "gpu:a100:4,nvme:1": the GPUs of every gpu entry.
int gpu_count(const std::string& gres) {
  int total = 0;
  for (auto entry : split(gres, ',')) {
    if (!entry.starts_with("gpu:")) continue;
    entry = entry.substr(0, entry.find('('));  // "(S:0-1)": the sockets the GPUs are near
    auto count = entry.substr(entry.rfind(':') + 1);
    try {
      total += std::stoi(count);
    } catch (...) {  // "gpu:h100" without a count: one
      total += 1;
    }
  }
  return total;
}

// The configuration sinfo would read: $SLURM_CONF, or where Debian, ParallelCluster/HyperPod (/opt/slurm) and
// configless clients (/run/slurm/conf) keep it.
std::optional<std::string> slurm_conf() {
  if (auto env = env_string("SLURM_CONF"); env && !env->empty())
    return std::filesystem::exists(*env) ? env : std::nullopt;
  for (const char* p : {"/etc/slurm/slurm.conf", "/etc/slurm-llnl/slurm.conf", "/opt/slurm/etc/slurm.conf",
                        "/run/slurm/conf/slurm.conf", "/usr/local/etc/slurm.conf"})
    if (std::filesystem::exists(p)) return p;
  return std::nullopt;
}

}  // namespace

std::map<std::string, std::string> SlurmNodes::record() const {
  std::map<std::string, std::string> r{{"source", why}};
  if (!learned) return r;
  r["partition"] = partition;
  r["gres"] = gres;
  r["cpus"] = std::to_string(cpus);
  r["features"] = features;
  r["gpus_per_node"] = std::to_string(gpus);
  if (!instance_type.empty()) r["instance_type"] = instance_type;
  return r;
}

SlurmNodes parse_sinfo(const std::string& out, const std::string& partition, const Catalog& catalog) {
  SlurmNodes n;
  n.partition = partition;
  for (const auto& line : split(out, '\n')) {
    auto f = split(line, '|');
    if (f.size() < 4) continue;
    bool is_default = f[0].ends_with("*");
    auto name = is_default ? f[0].substr(0, f[0].size() - 1) : f[0];
    if (partition.empty() ? !is_default : name != partition) continue;
    n.partition = name;
    n.learned = true;
    n.gres = f[1];
    n.gpus = gpu_count(f[1]);
    n.cpus = std::atoi(f[2].c_str());
    n.features = f[3];
    for (const auto& feature : split(f[3], ','))
      if (auto t = catalog.find(feature)) {
        n.instance_type = t->name;
        break;
      }
    n.why = fmt::format("sinfo: partition {}: GRES {}, {} CPUs, features {}", name, n.gres, n.cpus, n.features);
    return n;
  }
  n.why = partition.empty() ? "sinfo named no default partition" : "sinfo knows no partition " + partition;
  return n;
}

SlurmNodes ask_slurm(const std::string& partition, const Catalog& catalog) {
  SlurmNodes n;
  n.partition = partition;
  // sinfo without a configuration retries for a minute: on a machine that is no Slurm client, say so at once.
  auto conf = slurm_conf();
  if (!conf) {
    n.why = "no Slurm configuration here ($SLURM_CONF, /etc/slurm/slurm.conf, /opt/slurm/etc/slurm.conf)";
    return n;
  }
  // timeout: an unreachable controller is retried for a long time too.
  auto r = run_process({"timeout", "10", "sinfo", "-h", "-o", "%P|%G|%c|%f"});
  if (r.status != 0) {
    auto err = r.err.substr(0, r.err.find('\n'));
    n.why = fmt::format("sinfo failed (exit {}{}{}; configuration {})", r.status, err.empty() ? "" : ": ", err, *conf);
    return n;
  }
  return parse_sinfo(r.out, partition, catalog);
}

}  // namespace awsdt::launcher
