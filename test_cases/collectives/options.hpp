// awsdt-collectives' command line: nccl-tests' short and long flags, plus awsdt's shared options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/options.hpp"
#include "comm/dtype.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::collectives {

struct Options {
  std::vector<std::string> collectives{"all_reduce"};
  std::uint64_t min_bytes = 32ull << 20;
  std::uint64_t max_bytes = 32ull << 20;
  std::uint64_t step_factor = 1;
  std::uint64_t step_bytes = 1ull << 20;
  int iters = 20;
  int warmup = 5;
  int agg_iters = 1;   ///< -m: operations per timed iteration, issued as one group (time is per operation)
  int run_cycles = 1;  ///< -N: every size measured and printed this many times
  int check = 1;       ///< -c: check iterations after timing (0: none), stopping at the first wrong one
  std::vector<DataType> dtypes{DataType::f32};
  std::vector<ReduceOp> ops{ReduceOp::sum};
  int root = 0;
  int average = 1;  ///< 0 rank 0, 1 mean, 2 min, 3 max (of the per-rank times)
  bool blocking = false;
  int ngpus = 1;
  int graph_launches = 0;
  bool report_cputime = false;  ///< -C 1: report the host time of issuing the operations, not their duration
  bool per_iteration = false;
  double timeout_s = 0;
  double min_busbw = -1;  ///< GB/s; -1 = unchecked
  // nccl-tests flags taken with its meaning where it is the only one (-t 1, -p, -y 0, -S 0, -R 0, -M 0) and
  // refused with the reason otherwise (validate()): -1 = not given.
  int nthreads = 1, parallel_init = 0, stream_null = 0, report_timestamps = 0, local_register = 0, memory_report = 0;
  int cta_policy = -1, device_implementation = 0, device_cta_count = -1;
  std::string fork_flag_u;  ///< -u: a flag of nccl-tests' forks (RCCL's cumask, unalign), refused
  bool corrupt_for_test = false;
  int check_args_ranks = 0;  ///< --check-args N: parse and check for N ranks, then exit (0: run)
  CommonOptions common;
  std::string metrics_file;  ///< --metrics-file: rewritten after every row ("" = none)
};

/// Declares every flag on `app`; values land in `options` after parsing.
void add_options(CLI::App& app, Options& options);
/// Cross-flag checks after parsing (-b > -e, zero steps, ...); throws UsageError.
void validate(const Options& options);

}  // namespace awsdt::collectives
