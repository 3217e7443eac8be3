// Metrics files (see metrics_file.hpp).
#include "bench/metrics_file.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt {
namespace {

constexpr const char* kRankPlaceholder = "{rank}";

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// Shortest text that reads back as the same double; the exposition format spells the specials NaN, +Inf, -Inf.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string label_set(const std::vector<std::pair<std::string, std::string>>& a,
                      const std::vector<std::pair<std::string, std::string>>& b) {
  std::string s;
  for (const auto* list : {&a, &b})
    for (const auto& [k, v] : *list) s += fmt::format("{}{}=\"{}\"", s.empty() ? "" : ",", k, escape_label_value(v));
  return s.empty() ? s : "{" + s + "}";
}

}  // namespace

MetricsFile::MetricsFile(const std::string& path, std::string benchmark, int rank) {
  if (path.empty()) return;
  const auto at = path.find(kRankPlaceholder);
  if (at == std::string::npos && rank != 0) return;
  path_ = path;
  if (at != std::string::npos) path_.replace(at, std::string(kRankPlaceholder).size(), std::to_string(rank));
  const auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir))
    throw UsageError(fmt::format("--metrics-file '{}': directory '{}' does not exist", path, dir.string()));
  labels_ = {{"benchmark", std::move(benchmark)}, {"job", metrics_job_label()}, {"rank", std::to_string(rank)}};
}

void MetricsFile::write(const std::vector<MetricValue>& values) const {
  if (!enabled()) return;
  // Not made durable: the file is rewritten at the next step and means nothing after a crash; an fsync per step
  // would cost a training loop on a shared filesystem more than the figures are worth.
  // Every write is a logged step: its time lets an alert tell a running job from one that has ended.
  std::vector<MetricValue> all = values;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  all.push_back({"awsdt_step_timestamp_seconds", "When the benchmark logged its last step (Unix time).", now});
  write_file_atomic(path_, metrics_text(all, labels_), false);
}

std::string metrics_text(const std::vector<MetricValue>& values,
                         const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out;
  std::set<std::string> described;
  for (const MetricValue& v : values) {
    // The format wants every sample of one name together, after a single HELP/TYPE pair.
    if (!described.insert(v.name).second) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", v.name, v.help, v.name);
    for (const MetricValue& s : values)
      if (s.name == v.name) out += fmt::format("{}{} {}\n", s.name, label_set(labels, s.labels), format_value(s.value));
  }
  return out;
}

std::string metrics_job_label() {
  for (const char* name : {"AWSDT_METRICS_JOB", "SLURM_JOB_ID", "AWS_BATCH_JOB_ID"})
    if (auto v = env_string(name); v && !v->empty()) return *v;
  if (auto dir = env_string("AWSDT_JOB_DIR"); dir && !dir->empty()) {
    auto p = std::filesystem::path(*dir).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();  // "/jobs/3/"
    return p.filename().string();
  }
  return "local";
}

void add_metrics_file_option(CLI::App& app, std::string& path) {
  app.add_option("--metrics-file", path,
                 "rewrite this Prometheus text file (node_exporter's textfile format) at every logged step with the "
                 "latest figures, for awsdt-exporter or node_exporter's textfile collector; '{rank}' in the path "
                 "makes every rank write its own, else rank 0 writes");
}

}  // namespace awsdt
