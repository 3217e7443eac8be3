// awsdt-collectives' command line: nccl-tests' short and long flags, plus awsdt's shared options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/options.hpp"
#include "comm/dtype.hpp"

namespace awsdt::collectives {

struct Options {
  std::vector<std::string> collectives{"all_reduce"};
  std::uint64_t min_bytes = 32ull << 20;
  std::uint64_t max_bytes = 32ull << 20;
  std::uint64_t step_factor = 1;
  std::uint64_t step_bytes = 1ull << 20;
  int iters = 20;
  int warmup = 5;
  int check = 1;
  std::vector<DataType> dtypes{DataType::f32};
  std::vector<ReduceOp> ops{ReduceOp::sum};
  int root = 0;
  int average = 1;  ///< 0 rank 0, 1 mean, 2 min, 3 max (of the per-rank times)
  bool blocking = false;
  int ngpus = 1;
  int graph_launches = 0;
  bool per_iteration = false;
  double timeout_s = 0;
  double min_busbw = -1;  ///< GB/s; -1 = unchecked
  bool corrupt_for_test = false;
  int check_args_ranks = 0;  ///< --check-args N: parse and check for N ranks, then exit (0: run)
  CommonOptions common;
};

/// Declares every flag on `app`; values land in `options` after parsing.
void add_options(CLI::App& app, Options& options);
/// Cross-flag checks after parsing (-b > -e, zero steps, ...); throws UsageError.
void validate(const Options& options);

}  // namespace awsdt::collectives
