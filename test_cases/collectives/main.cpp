// awsdt-collectives: nccl-tests' all_reduce_perf & co. in one executable, on NCCL (GPUs) or MPI (CPUs).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "bench/launch_check.hpp"
#include "bench/watchdog.hpp"
#include "metrics.hpp"
#include "report.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

using namespace awsdt;
using namespace awsdt::collectives;

namespace {

// nccl-tests' "#  Rank  0 Group  0 Pid  1234 on host device  0 [...] name" line for each rank, in rank order.
std::vector<std::string> device_lines(CommWorld& world) {
  constexpr std::size_t kLen = 512;
  std::string mine;
  for (auto& c : world.comms) {
    int dev = c->device().is_cuda() ? c->device().index : 0;
    std::string desc = device_description(c->device());
    if (!c->device().is_cuda()) desc = "[cpu] " + desc;
    mine += fmt::format("#  Rank {:>2} Group  0 Pid {:>6} on {:>10} device {:>2} {}\n", c->rank(), ::getpid(),
                        host_name(), dev, desc);
  }
  mine.resize(kLen * world.comms.size(), '\0');
  std::vector<std::uint8_t> bytes(mine.begin(), mine.end());
  auto all = world.bootstrap->all_gather_bytes(bytes);
  std::vector<std::string> lines;
  std::size_t stride = kLen * world.comms.size();
  for (std::size_t off = 0; off < all.size(); off += stride) {
    std::string block(reinterpret_cast<const char*>(all.data() + off),
                      strnlen(reinterpret_cast<const char*>(all.data() + off), stride));
    std::size_t start = 0;
    for (std::size_t nl; (nl = block.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(block.substr(start, nl - start));
  }
  return lines;
}

nlohmann::json config_json(const Options& o) {
  return {{"nthreads", 1},
          {"ngpus", o.ngpus},
          {"minimum_bytes", o.min_bytes},
          {"maximum_bytes", o.max_bytes},
          {o.step_factor > 1 ? "step_factor" : "step_bytes", o.step_factor > 1 ? o.step_factor : o.step_bytes},
          {"warmup_iters", o.warmup},
          {"iterations", o.iters},
          {"aggregated_iterations", o.agg_iters},
          {"run_cycles", o.run_cycles},
          {"report_cputime", o.report_cputime},
          {"validation", o.check},
          {"graph", o.graph_launches},
          {"blocking_collectives", o.blocking},
          {"per_iter_timing", o.per_iteration},
          {"average", o.average},
          {"collectives", o.collectives},
          {"root", o.root}};
}

int run(int argc, char** argv) {
  CLI::App app{"awsdt-collectives: nccl-tests-style collective benchmarks on NCCL (GPUs) or MPI (CPUs)"};
  Options o;
  add_options(app, o);
  app.set_version_flag("--version", AWSDT_VERSION);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  validate(o);
  if (o.check_args_ranks > 0) return 0;  // arguments checked; no ranks started

  o.common.comm.gpus_per_process = o.ngpus;
  auto world = make_comm_world(o.common.comm);
  set_abort_target(world.comm());
  end_with_peers(*world.bootstrap);
  int rank = world.bootstrap->rank();
  check_output_files(o.common, rank);
  setup_logging(rank, o.common.verbose);
  check_not_alone(*world.bootstrap);
  if (o.graph_launches > 0 && !world.comm().capabilities().graph_capture)
    throw UsageError(fmt::format("-G/--cudagraph {} needs the NCCL backend (GPUs); this run uses {}", o.graph_launches,
                                 world.comm().backend()));

  bool table = rank == 0 && !o.common.json_stdout;
  TableReport report(o, stdout, table);
  report.preamble(world, device_lines(world));
  // -T bounds each wait; the watchdog ends the run at a backend's first asynchronous fault instead.
  Watchdog watchdog(0, async_error_probe(world));
  watchdog.arm("the benchmark");
  MetricsReport metrics(report, MetricsFile(o.metrics_file, "collectives", rank));
  auto rows = run_cases(o, world, metrics);
  watchdog.disarm();
  double avg = report.footer(rows);

  auto doc = make_result_document("collectives", argc, argv);
  doc.hosts = world.bootstrap->hosts();
  doc.world_size = world.comm().size();
  doc.backend = std::string(world.comm().backend());
  doc.config = config_json(o);
  doc.rows = rows_json(rows, o.iters);
  auto wrong = total_wrong(rows);
  doc.summary = {{"out_of_bounds", {{"count", wrong}, {"okay", wrong == 0}}},
                 {"average_bus_bandwidth",
                  {{"bandwidth", avg},
                   {"okay", o.min_busbw < 0 ? nlohmann::json("unchecked") : nlohmann::json(avg >= o.min_busbw)}}},
                 {"stragglers", straggler_notes(rows)}};
  // nccl-tests' -J top-level fields, so tools that read its JSON read ours.
  doc.extra = {{"version", 2},
               {"start_time", doc.started_at},
               {"args", doc.argv},
               {"results", doc.rows},
               {"out_of_bounds", doc.summary["out_of_bounds"]},
               {"average_bus_bandwidth", doc.summary["average_bus_bandwidth"]}};
  if (o.check) doc.add_check("wrong elements", wrong == 0, fmt::format("{} wrong elements", wrong));
  if (o.min_busbw >= 0)
    doc.add_check("min busbw", avg >= o.min_busbw,
                  fmt::format("average bus bandwidth {:.3f} GB/s, required {:.3f} GB/s", avg, o.min_busbw));
  if (rank == 0) {
    if (!o.common.json_output.empty()) write_result_document(doc, o.common.json_output);
    if (!o.common.csv_output.empty()) write_file_atomic(o.common.csv_output, format_csv(rows_table(rows)));
    if (o.common.json_stdout) std::cout << nlohmann::json(doc).dump(2) << "\n";
    return report_checks(doc, "awsdt-collectives");
  }
  return doc.passed() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return guarded_main([&] { return run(argc, argv); });
}
