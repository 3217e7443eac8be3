// awsdt-healthcheck's command line (see health_options.hpp).
#include "health_options.hpp"

#include <cmath>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/options.hpp"
#include "util/error.hpp"

namespace awsdt::health {
CLI::Validator finite(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        std::size_t used = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || !std::isfinite(v) || v < lo || v > hi)
          return fmt::format("'{}' is not a number from {:g} to {:g}", text, lo, hi);
        return "";
      },
      fmt::format("NUMBER in [{:g}, {:g}]", lo, hi));
}

namespace {

const CLI::Validator kNotEmpty([](std::string& text) -> std::string { return text.empty() ? "must not be empty" : ""; },
                               "TEXT");

}  // namespace

void add_options(CLI::App& app, Options& o) {
  app.add_option("--suite", o.suite, "prolog | lightweight | intensive | cluster")
      ->check(CLI::IsMember(suite_names()))
      ->capture_default_str();
  app.add_option("--check", o.checks, "run only this check (repeatable; ids: --list)")->check(kNotEmpty);
  app.add_flag("--list", o.list, "list the checks, their suites and the severity of each failure, and exit");
  app.add_option("--root", o.root, "read sysfs, /proc, /dev and the kernel log under DIR (fake trees in tests)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--instance-type", o.instance_type,
                 "instance type whose catalog entry says what is healthy (default: the DMI product name)")
      ->check(kNotEmpty);
  app.add_option("--nvml-library", o.settings.nvml_library, "NVML library to load")->capture_default_str();
  app.add_option("--require-mount", o.settings.require_mounts, "a mount point that must be mounted (repeatable)");
  app.add_option("--min-shm-gib", o.settings.min_shm_gib, "smallest healthy /dev/shm")
      ->check(finite(0, 1e9))
      ->capture_default_str();
  app.add_option("--disk-path", o.settings.disk_path, "filesystem whose free space the disk check reads")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  app.add_option("--min-free-disk-gib", o.settings.min_free_disk_gib, "least free space on --disk-path")
      ->check(finite(0, 1e12))
      ->capture_default_str();
  app.add_option("--efa-provider", o.settings.efa_provider, "libfabric provider the EFA checks use")
      ->capture_default_str();
  app.add_option("--efa-min-gbps", o.settings.efa_min_gbps, "least EFA loopback bandwidth per device, Gbit/s")
      ->check(finite(0, 1e6))
      ->capture_default_str();
  app.add_option("--gemm-min-fraction", o.settings.gemm_min_fraction,
                 "least GPU GEMM throughput as a fraction of the catalog's peak")
      ->check(finite(0, 1))
      ->capture_default_str();
  app.add_option("--gemm-min-gflops", o.settings.gemm_min_gflops, "least CPU sgemm GFLOP/s (0: report only)")
      ->check(finite(0, 1e12))
      ->capture_default_str();
  app.add_option("--gemm-n", o.settings.gemm_n, "GEMM size (n×n×n)")
      ->capture_default_str()
      ->check(CLI::Range(64, 65536));
  app.add_option("--dcgmi", o.settings.dcgmi, "the dcgmi program")->capture_default_str();
  app.add_option("--membw-min-fraction", o.settings.membw_min_fraction,
                 "least GPU memory bandwidth as a fraction of the catalog's figure")
      ->check(finite(0, 1))
      ->capture_default_str();
  app.add_option("--collectives", o.settings.collectives,
                 "awsdt-collectives for node-allreduce (default: beside awsdt-healthcheck, else on PATH)");
  app.add_option("--mpirun", o.settings.mpirun, "mpirun for node-allreduce's CPU ranks (default: awsdt's own)");
  add_bytes_option(app, "--node-bytes", o.settings.node_bytes, "--node-bytes",
                   "node-allreduce: message size (default 256M)");
  app.add_option("--node-iters", o.settings.node_iters, "node-allreduce: timed all_reduce runs")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--node-cpu-ranks", o.settings.node_cpu_ranks, "node-allreduce: MPI ranks on a node without GPUs")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
  app.add_option("--node-min-busbw-gbs", o.settings.node_min_busbw_gbs,
                 "node-allreduce: bus bandwidth floor in GB/s (default: the instance catalog's one-node floor)")
      ->check(finite(0, 1e6));
  app.add_option("--max-clock-error-ms", o.settings.max_clock_error_ms,
                 "clock: largest healthy maximum error of the system clock (adjtimex)")
      ->check(finite(0, 1e9))
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds before a check is killed and fails (default: the check's own)")
      ->check(finite(1e-3, 1e6));
  app.add_flag("--exclusive", o.exclusive,
               "state that this job has the node to itself (sbatch --exclusive): the intensive suite needs it");
  app.add_flag("--json", o.json, "print the JSON document instead of the table");
  app.add_option("-o,--output", o.output, "write the JSON document to FILE (atomically)");
  app.add_option("--reason-file", o.reason_file,
                 "write the drain reason to FILE (atomically; empty when the node may stay in service)");
  add_cluster_options(app, o.cluster);
}

std::vector<const CheckInfo*> selected_checks(const Options& o) {
  std::vector<const CheckInfo*> out;
  for (const auto& id : o.checks) out.push_back(&check_info(id));
  if (o.checks.empty())
    for (const auto& c : check_infos())
      if (c.in_suite(o.suite)) out.push_back(&c);
  for (const auto* c : out)
    if (c->in_suite("intensive") && !o.exclusive)
      throw UsageError(
          fmt::format("check '{}' is intensive and needs the node to itself: run it in an exclusive "
                      "allocation (sbatch --exclusive) and pass --exclusive",
                      c->id));
  bool cluster = false, node = false;
  for (const auto* c : out) (c->in_suite("cluster") ? cluster : node) = true;
  if (cluster && node) throw UsageError("cluster-allreduce runs across ranks: run it alone (--suite cluster)");
  return out;
}

}  // namespace awsdt::health
