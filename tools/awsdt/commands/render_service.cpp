// `awsdt render <service>` (see render_service.hpp).
#include "commands/render_service.hpp"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "awsdt/config.hpp"
#include "escape.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::launcher {
namespace fs = std::filesystem;
using kainjow::mustache::data;

namespace {

const std::string kPrefix = "services/";

// "services/exporter/eks/daemonset.yaml" -> {"exporter", "eks", "daemonset.yaml"}; nullopt for other templates.
struct ServiceFile {
  std::string service, cluster, file;
};
std::optional<ServiceFile> split(const std::string& name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  auto parts = fs::path(name.substr(kPrefix.size()));
  std::vector<std::string> p(parts.begin(), parts.end());
  if (p.size() != 3) return std::nullopt;
  return ServiceFile{p[0], p[1], p[2]};
}

// Job flags that describe where and how a job runs mean nothing for a service installed on every node: refuse them
// rather than ignore them.
void refuse_job_only_flags(const JobFlags& f, const std::string& service) {
  std::vector<std::string> given;
  if (f.nodes) given.push_back("--nodes");
  if (f.gpus_per_node) given.push_back("--gpus-per-node");
  if (f.tasks_per_node) given.push_back("--tasks-per-node");
  if (f.instance_type) given.push_back("--instance-type");
  if (f.time_limit) given.push_back("--time");
  if (f.partition) given.push_back("--partition");
  if (f.account) given.push_back("--account");
  if (f.queue) given.push_back("--queue");
  if (f.retries) given.push_back("--retries");
  if (f.launcher) given.push_back("--launcher");
  if (f.job_dir) given.push_back("--job-dir");
  if (!f.mounts.empty()) given.push_back("--mount");
  if (!f.env.empty()) given.push_back("--env");
  if (!f.extra.empty()) given.push_back("--extra");
  if (given.empty()) return;
  throw UsageError(
      fmt::format("awsdt render {}: {} describes a job; a service takes --cluster, --bin-dir, "
                  "--container, --namespace, --name, -o and its own arguments after --",
                  service, given.front()));
}

data service_data(const JobFlags& f, const std::string& service, const std::string& cluster) {
  data d;
  d.set("service", service);
  d.set("cluster", cluster);
  d.set("version", std::string(AWSDT_VERSION));
  d.set("name", f.name.value_or("awsdt-" + service));
  d.set("bin_dir", f.bin_dir ? *f.bin_dir : self_dir().value_or(""));
  d.set("home", env_string("AWSDT_HOME").value_or(AWSDT_SOURCE_DIR));
  d.set("image", f.container.value_or(""));
  d.set("namespace", f.namespace_.value_or("default"));
  data args{data::type::list};
  std::string line;
  for (const auto& a : f.args) {
    data item;
    item.set("value", a);
    item.set("quoted", shell_quote(a));
    item.set("json", json_quote(a));
    args.push_back(item);
    line += (line.empty() ? "" : " ") + shell_quote(a);
  }
  d.set("args", args);
  d.set("args_line", line);
  return d;
}

}  // namespace

std::vector<std::string> service_names(const TemplateSet& templates) {
  std::set<std::string> names;
  for (const auto& name : templates.names())
    if (auto s = split(name)) names.insert(s->service);
  return {names.begin(), names.end()};
}

std::vector<fs::path> render_service(const JobCommand& job, const TemplateSet& templates,
                                     const std::optional<fs::path>& dir_in) {
  const auto& service = job.test_case;
  refuse_job_only_flags(job.flags, service);
  std::set<std::string> clusters;
  for (const auto& name : templates.names())
    if (auto s = split(name); s && s->service == service) clusters.insert(s->cluster);
  const auto cluster = job.flags.cluster.value_or("");
  if (!clusters.contains(cluster))
    throw UsageError(fmt::format("awsdt render {}: --cluster '{}' is not one this service installs on; accepted: {}",
                                 service, cluster, fmt::join(clusters, ", ")));
  if (cluster == "eks" && !job.flags.container)
    throw UsageError(
        fmt::format("awsdt render {} --cluster eks needs --container IMAGE (the image with awsdt)", service));
  const auto d = service_data(job.flags, service, cluster);
  // Render everything before writing anything: a template error leaves no half-written directory.
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& name : templates.names())
    if (auto s = split(name); s && s->service == service && s->cluster == cluster)
      files.emplace_back(s->file, templates.render(name, d));
  const fs::path dir = dir_in.value_or(fs::path("awsdt-" + service + "-" + cluster));
  fs::create_directories(dir);
  std::vector<fs::path> written;
  for (const auto& [file, text] : files) {
    write_file_atomic((dir / file).string(), text);
    if (file.ends_with(".sh"))
      fs::permissions(dir / file, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add);
    written.push_back(dir / file);
  }
  return written;
}

}  // namespace awsdt::launcher
