// awsdt-fabric: libfabric point-to-point latency and bandwidth between two ranks (or two ends in one process),
// over any provider: the EFA check beneath NCCL, in awsdt's output.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "comm/registry.hpp"
#include "options.hpp"
#include "provider.hpp"
#include "results/result.hpp"
#include "runner.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

using namespace awsdt;
using namespace awsdt::fabric;

namespace {

// Where the buffers live: host memory, or for --hmem cuda this rank's GPU, or the reason there is none.
Device buffer_device(const Options& o, int local_rank) {
  if (o.hmem != "cuda") return Device::cpu();
  if (!AWSDT_HAVE_CUDA)
    throw UsageError(
        "--hmem cuda: this awsdt-fabric was built without CUDA (configure with AWSDT_WITH_CUDA on a machine with the "
        "CUDA toolkit); use --hmem system");
  int gpus = cuda_device_count();
  if (gpus == 0) throw UsageError("--hmem cuda: no GPU is visible to this process; use --hmem system");
  return Device::cuda(local_rank % gpus);
}

Plan make_plan(const Options& o, bool one_host, int local_rank) {
  Plan plan{o.provider.empty() ? default_provider(one_host) : o.provider, {o.device}, buffer_device(o, local_rank)};
  Request request{plan.provider, o.device, plan.memory.is_cuda(), false};
  require_info(request);  // a provider that does not exist is one line naming those that do
  if (o.all_devices) plan.devices = domains_of(request);
  return plan;
}

// --min-bw: the bandwidth of each bandwidth test at its largest size, against the floor.
void add_bandwidth_checks(ResultDocument& doc, const std::vector<Row>& rows, double min_bw) {
  if (min_bw < 0) return;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    bool last = i + 1 == rows.size() || rows[i + 1].test != r.test || rows[i + 1].message != r.message ||
                rows[i + 1].device != r.device;
    if (!last || r.test == "pingpong") continue;
    doc.add_check(fmt::format("min bw {} {} {}", r.test, r.message, r.device), r.gbits_per_s() >= min_bw,
                  fmt::format("{:.3f} Gbit/s at {} B, required {:g} Gbit/s", r.gbits_per_s(), r.bytes, min_bw));
  }
}

nlohmann::json config_json(const Options& o, const Plan& plan) {
  std::vector<std::string> tests;
  for (auto k : o.tests) tests.emplace_back(test_name(k));
  return {{"tests", tests},
          {"minimum_bytes", o.min_bytes},
          {"maximum_bytes", o.max_bytes},
          {"step_factor", o.step_factor},
          {"iterations", o.timing.iters},
          {"warmup_iters", o.timing.warmup},
          {"window", o.window},
          {"provider", plan.provider},
          {"devices", plan.devices},
          {"messages", o.messages},
          {"hmem", o.hmem},
          {"check", o.check},
          {"loopback", o.loopback}};
}

int finish(const Options& o, const Plan& plan, const Outcome& out, ResultDocument doc, TableReport& report) {
  doc.world_size = 2;
  doc.backend = "libfabric";
  doc.config = config_json(o, plan);
  doc.rows = rows_json(out.rows);
  std::int64_t wrong = 0;
  for (const auto& r : out.rows) wrong += std::max<std::int64_t>(0, r.wrong);
  doc.summary = {{"wrong_bytes", o.check ? nlohmann::json(wrong) : nlohmann::json("unchecked")},
                 {"fi_info", out.infos},
                 {"skipped", out.notes}};
  if (o.check) doc.add_check("wrong bytes", wrong == 0, fmt::format("{} received bytes differ from those sent", wrong));
  add_bandwidth_checks(doc, out.rows, o.min_bw);
  report.line(o.check ? fmt::format("Wrong bytes: {} {}", wrong, wrong ? "FAILED" : "OK") : "Wrong bytes: unchecked");
  if (!o.common.json_output.empty()) write_result_document(doc, o.common.json_output);
  if (!o.common.csv_output.empty()) write_file_atomic(o.common.csv_output, format_csv(rows_table(out.rows)));
  if (o.common.json_stdout) std::cout << nlohmann::json(doc).dump(2) << "\n";
  return report_checks(doc, "awsdt-fabric");
}

int run(int argc, char** argv) {
  CLI::App app{"awsdt-fabric: libfabric point-to-point latency and bandwidth (RDM endpoints) between two ranks"};
  Options o;
  add_options(app, o);
  app.set_version_flag("--version", AWSDT_VERSION);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  validate(o);
  auto doc = make_result_document("fabric", argc, argv);
  if (o.loopback) {
    check_output_files(o.common, 0);
    setup_logging(0, o.common.verbose);
    auto plan = make_plan(o, true, 0);
    TableReport report(stdout, !o.common.json_stdout, o.check);
    report.line(fmt::format("awsdt-fabric {} --loopback on {}", AWSDT_VERSION, host_name()));
    doc.hosts = {host_name(), host_name()};
    return finish(o, plan, run_loopback(o, plan, report), std::move(doc), report);
  }
  auto bootstrap = make_bootstrap(o.common.comm.bootstrap, o.common.comm.timeout);
  end_with_peers(*bootstrap);
  check_output_files(o.common, bootstrap->rank());
  setup_logging(bootstrap->rank(), o.common.verbose);
  if (bootstrap->size() != 2)
    throw UsageError(fmt::format("awsdt-fabric runs on exactly 2 ranks, got {}; or use --loopback in one process",
                                 bootstrap->size()));
  const auto& hosts = bootstrap->hosts();
  auto plan = make_plan(o, hosts[0] == hosts[1], bootstrap->local_rank());
  TableReport report(stdout, bootstrap->rank() == 0 && !o.common.json_stdout, o.check);
  report.line(fmt::format("awsdt-fabric {} bootstrap {} ranks on {} and {}", AWSDT_VERSION, bootstrap->name(), hosts[0],
                          hosts[1]));
  BootstrapLink link(*bootstrap);
  auto out = run_side(o, plan, link, report);
  doc.hosts = hosts;
  if (bootstrap->rank() != 0) return 0;  // side 0 measured, checked and reports for both
  return finish(o, plan, out, std::move(doc), report);
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] { return run(argc, argv); });
}
