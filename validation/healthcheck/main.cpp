// awsdt-healthcheck: node health checks (GPUs, EFA, NVLink, the node, active GEMM/fabric/collective checks, DCGM)
// with severities that say what to do with the node; the Slurm prolog drains on REBOOT and ISOLATE.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/guard.hpp"
#include "bench/watchdog.hpp"
#include "checks/checks.hpp"
#include "health_options.hpp"
#include "health_report.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace awsdt::health {
namespace {

void print_list() {
  for (const auto& c : check_infos()) {
    std::vector<std::string> failures;
    for (const auto& [key, s] : c.failures) failures.push_back(fmt::format("{}={}", key, severity_name(s)));
    std::cout << fmt::format("{:<18} {:<13} ~{:g}s  {}\n{:<18} failures: {}\n", c.id, fmt::join(c.suites, ","),
                             c.expected_s, c.name, "", fmt::join(failures, " "));
  }
  std::cout << "gpu-xid's failure 'xid' takes its severity from the Xid table (docs/healthcheck.md)\n";
}

// write_file_atomic, with the flag that named the file in the error.
void write_named(const char* flag, const std::string& path, const std::string& text) {
  try {
    write_file_atomic(path, text);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", flag, e.what()));
  }
}

Report run(const Options& o, const std::vector<const CheckInfo*>& checks) {
  Context ctx{NodeRoot(o.root), o.settings, "", std::nullopt, {}};
  ctx.instance_type = detect_instance_type(ctx.root, o.instance_type);
  ctx.expect = expectation_for(ctx.instance_type);
  if (!o.instance_type.empty() && !ctx.expect)
    throw UsageError(fmt::format("--instance-type '{}' is not in the instance catalog", o.instance_type));
  Report report{host_name(), ctx.instance_type, o.checks.empty() ? o.suite : "checks", {}};
  for (const auto* info : checks) {
    double timeout = o.timeout_s > 0 ? o.timeout_s : info->timeout_s;
    if (info->in_suite("cluster")) {
      // Across ranks there is no child to kill: past the deadline the watchdog aborts the communicator and ends
      // every rank (exit 1), so a hung peer cannot hold the nodes.
      Watchdog watchdog(timeout);
      watchdog.arm(info->id);
      auto t0 = std::chrono::steady_clock::now();
      auto outcome = run_cluster_check(*info, ctx, o.cluster);
      watchdog.disarm();
      report.runs.push_back({outcome, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
      continue;
    }
    report.runs.push_back(run_isolated(*info, check_function(info->id), ctx, timeout));
  }
  return report;
}

int healthcheck(int argc, char** argv) {
  CLI::App app{"awsdt-healthcheck: node health checks with severities (ISOLATE, REBOOT, RESET, MONITOR)"};
  Options o;
  add_options(app, o);
  if (auto status = parse_command_line(app, argc, argv)) return *status;
  if (o.list) {
    print_list();
    return 0;
  }
  auto report = run(o, selected_checks(o));
  // In the cluster suite every rank holds the same report: rank 0 speaks.
  bool speak = process_rank() <= 0;
  auto doc = report.to_json();
  if (speak && !o.output.empty()) write_named("--output", o.output, doc.dump(2) + "\n");
  // Written even when empty: a reason left from an earlier run must not drain a node that is healthy now.
  if (speak && !o.reason_file.empty()) write_named("--reason-file", o.reason_file, report.drain_reason() + "\n");
  if (speak) std::cout << (o.json ? doc.dump(2) + "\n" : report.table()) << std::flush;
  return report.exit_status();
}

}  // namespace
}  // namespace awsdt::health

int main(int argc, char** argv) {
  return awsdt::guarded_main([&] { return awsdt::health::healthcheck(argc, argv); });
}
