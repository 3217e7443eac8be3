// Command line of awsdt-collectives (see options.hpp).
#include "options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/metrics_file.hpp"
#include "bench/options.hpp"
#include "bench/sizes.hpp"
#include "collective.hpp"
#include "util/error.hpp"

namespace awsdt::collectives {

void add_options(CLI::App& app, Options& o) {
  // A flag given twice takes its last value, so that `awsdt run collectives -- -b 1M` can pass the test case's
  // defaults first and the user's flags after them (nccl-tests' getopt behaves the same).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("collective,--op-type", o.collectives,
                 "all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, reduce, send_recv, or all")
      ->each([](const std::string& v) {
        if (v != "all") for_flag("--op-type", [&] { return find_collective(v); });
      });
  add_bytes_option(app, "-b,--minbytes", o.min_bytes, "minbytes", "smallest size (e.g. 8, 64K, 1M, 2G); default 32M");
  add_bytes_option(app, "-e,--maxbytes", o.max_bytes, "maxbytes", "largest size; default 32M");
  add_bytes_option(app, "-i,--stepbytes", o.step_bytes, "stepbytes", "size increment when -f is 1; default 1M");
  app.add_option("-f,--stepfactor", o.step_factor, "size multiplier between steps (1: add -i instead)")
      ->check(unsigned_integer());
  app.add_option("-n,--iters", o.iters, "timed iterations per size")->check(CLI::PositiveNumber);
  app.add_option("-m,--agg_iters", o.agg_iters,
                 "operations per timed iteration, issued as one group; time is per operation (default 1)")
      ->check(CLI::PositiveNumber);
  app.add_option("-w,--warmup_iters", o.warmup, "warm-up iterations per size")->check(CLI::NonNegativeNumber);
  app.add_option("-N,--run_cycles", o.run_cycles, "measure and print every size this many times (default 1)");
  app.add_option("-c,--check", o.check, "check iterations after timing, stopping at the first wrong one (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option_function<std::string>(
      "-d,--datatype",
      [&o](const std::string& v) {
        o.dtypes.clear();
        if (v == "all")
          o.dtypes.assign(all_dtypes().begin(), all_dtypes().end());
        else
          o.dtypes.push_back(for_flag("--datatype", [&] { return parse_dtype(v); }));
      },
      "float, double, half, bfloat16, int8, uint8, int32, uint32, int64, uint64, or all");
  app.add_option_function<std::string>(
      "-o,--op",
      [&o](const std::string& v) {
        o.ops.clear();
        if (v == "all")
          o.ops.assign(all_ops().begin(), all_ops().end());
        else
          o.ops.push_back(for_flag("--op", [&] { return parse_op(v); }));
      },
      "sum, prod, min, max, avg, or all");
  app.add_option("-r,--root", o.root, "root rank of broadcast and reduce");
  app.add_option("-a,--average", o.average, "time reported: 0 rank 0, 1 mean, 2 min, 3 max over ranks")
      ->check(CLI::Range(0, 3));
  app.add_option("-z,--blocking", o.blocking, "wait for completion after every iteration (0/1)")
      ->check(CLI::IsMember({"0", "1"}));
  app.add_option("-g,--ngpus", o.ngpus, "GPUs driven by each process (NCCL backend)")->check(CLI::PositiveNumber);
  app.add_option("-G,--cudagraph", o.graph_launches, "capture the timed iterations in a CUDA graph, launch it N times")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-C,--report_cputime", o.report_cputime,
                 "1: report the host (CPU) time of issuing each operation instead of its duration (0/1)")
      ->check(CLI::IsMember({"0", "1"}));
  app.add_flag("-I,--per_iter_timing", o.per_iteration, "report per-iteration min/max/p99/cv columns");
  app.add_option("-T,--timeout", o.timeout_s, "seconds before a stuck operation aborts the job (0: never)")
      ->check(finite_number(0));
  app.add_option("--min-busbw", o.min_busbw, "exit non-zero when the average bus bandwidth (GB/s) is below this")
      ->check(finite_number(0));
  add_common_options(app, o.common, "-J,--output_file");
  add_metrics_file_option(app, o.metrics_file);
  app.add_option("--check-args", o.check_args_ranks,
                 "parse and check the other arguments for N ranks, then exit 0 (or 2 with the error) without "
                 "communicating: awsdt run does this before it submits a job")
      ->check(CLI::PositiveNumber);
  // nccl-tests flags whose only meaning here is their default; validate() refuses other values with the reason.
  app.add_option("-t,--nthreads", o.nthreads, "threads per process: 1 (one thread drives a process's GPUs)");
  app.add_option("-p,--parallel_init", o.parallel_init,
                 "0/1: initialise the threads' communicators in parallel (one thread: the same either way)");
  app.add_option("-y,--stream_null", o.stream_null, "0: each rank's own non-blocking stream (1 is refused)");
  app.add_option("-S,--report_timestamps", o.report_timestamps, "0 (1, a timestamp column, is refused)");
  app.add_option("-R,--local_register", o.local_register, "0 (buffer registration, 1 or 2, is refused)");
  app.add_option("-x,--cta_policy", o.cta_policy, "refused: NCCL's CTA policy is not set by awsdt-collectives");
  app.add_option("-D,--device_implementation", o.device_implementation, "0 (NCCL's device API, 1+, is refused)");
  app.add_option("-V,--device_cta_count", o.device_cta_count, "refused: only with -D, which is refused");
  app.add_option("-M,--memory_report", o.memory_report, "0 (a GPU memory report, 1, is refused)");
  app.add_option("-u", o.fork_flag_u, "refused: not NVIDIA nccl-tests' (its forks' cumask or unalign)");
  // Test hook: rank r corrupts r + 1 received elements before the check, to prove the check counts them all.
  app.add_flag("--corrupt-result-for-test", o.corrupt_for_test)->group("");
}

void validate(const Options& o) {
  check_size_sweep(o.min_bytes, o.max_bytes, o.step_factor, o.step_bytes);
  if (o.iters < 1) throw UsageError(fmt::format("-n/--iters {} must be at least 1", o.iters));
  if (o.run_cycles == 0)
    throw UsageError(
        "-N/--run_cycles 0 (run forever) is not supported: give a number of cycles, and stop the job "
        "to end it");
  if (o.run_cycles < 0) throw UsageError(fmt::format("-N/--run_cycles {} must be at least 1", o.run_cycles));
  if (o.report_cputime && o.graph_launches > 0)
    throw UsageError(
        "-C/--report_cputime 1 with -G/--cudagraph: the host time of a graph launch is not what -C "
        "measures here; drop one of them");
  if (o.report_cputime && o.per_iteration)
    throw UsageError(
        "-C/--report_cputime 1 with -I/--per_iter_timing: host times are measured per loop, not per "
        "iteration; drop one of them");
  // nccl-tests flags that awsdt-collectives takes only with their default value, and why.
  auto refuse = [](bool given, const std::string& what) {
    if (given) throw UsageError(what);
  };
  refuse(o.nthreads != 1,
         fmt::format("-t/--nthreads {}: awsdt-collectives drives each process's GPUs from one thread; start one "
                     "process per GPU (mpirun -np, srun) or drive several with -g",
                     o.nthreads));
  refuse(o.parallel_init != 0 && o.parallel_init != 1,
         fmt::format("-p/--parallel_init {} must be 0 or 1", o.parallel_init));
  refuse(o.stream_null != 0,
         fmt::format("-y/--stream_null {}: awsdt-collectives issues every operation on the rank's own non-blocking "
                     "stream; the legacy default stream is not supported",
                     o.stream_null));
  refuse(o.report_timestamps != 0,
         fmt::format("-S/--report_timestamps {}: a timestamp column is not implemented (-J's document records the "
                     "start time)",
                     o.report_timestamps));
  refuse(o.local_register != 0,
         fmt::format("-R/--local_register {}: NCCL buffer registration (ncclCommRegister, symmetric windows) is not "
                     "implemented",
                     o.local_register));
  refuse(o.cta_policy != -1,
         fmt::format("-x/--cta_policy {}: awsdt-collectives does not set NCCL's CTA policy (its communicators "
                     "take NCCL's default)",
                     o.cta_policy));
  refuse(o.device_implementation != 0,
         fmt::format("-D/--device_implementation {}: NCCL's device-side API implementations are not implemented",
                     o.device_implementation));
  refuse(
      o.device_cta_count != -1,
      fmt::format("-V/--device_cta_count {}: only meaningful with -D, which is not implemented", o.device_cta_count));
  refuse(!o.fork_flag_u.empty(),
         fmt::format("-u {}: not a flag of NVIDIA's nccl-tests (RCCL's cumask, or a fork's unalign); not supported",
                     o.fork_flag_u));
  refuse(o.memory_report != 0,
         fmt::format("-M/--memory_report {}: a GPU memory report is not implemented", o.memory_report));
  if (o.check_args_ranks > 0 && o.root >= o.check_args_ranks)
    throw UsageError(fmt::format("-r/--root {} is not a rank of {} ranks", o.root, o.check_args_ranks));
}

}  // namespace awsdt::collectives
