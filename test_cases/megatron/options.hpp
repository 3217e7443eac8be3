// Command line of awsdt-megatron gemm: the patterns, methods and shapes to measure, with the collectives'
// timing, output and communication flags meaning the same here.
#pragma once

#include <string>
#include <vector>

#include "bench/options.hpp"
#include "comm/dtype.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::megatron {

struct GemmOptions {
  GemmOptions() { common.comm.mpi_wait = "poll"; }  // the communication thread shares cores with the GEMMs

  std::vector<std::string> patterns{"ag_gemm", "gemm_rs"};  ///< ag_gemm, gemm_rs, gemm_ar, layer
  std::vector<std::string> methods{"serial", "pipelined", "ring"};
  int chunks = 4;              ///< pipelined: chunks of rows
  std::string shape;           ///< MxNxK, the global GEMM
  std::string model;           ///< a preset whose layer gives the shapes
  int tp = 0;                  ///< tensor-parallel size (0: every rank)
  int seq = 0;                 ///< sequence length (0: the preset's)
  int micro_batch = 1;         ///< sequences per micro-batch
  std::string sweep_m;         ///< MIN:MAX[:FACTOR]
  std::string dtype = "auto";  ///< float on CPUs, bfloat16 on GPUs
  int check = 1;               ///< compare every method with serial, and serial with float64
  int threads = 0;             ///< CPU threads per rank (0: the environment's or the rank's share)
  TimingOptions timing;
  CommonOptions common;
  std::string metrics_file;       ///< --metrics-file: each measured row for awsdt-exporter
  int check_args_ranks = 0;       ///< --check-args N: check the flags for N ranks and exit (0: run)
  bool corrupt_for_test = false;  ///< test hook: spoil one chunk of each non-serial result before the check
};

/// Declares the gemm subcommand's flags on `app`.
void add_gemm_options(CLI::App& app, GemmOptions& options);
/// Checks that need several flags (a shape source, known patterns and methods); throws UsageError.
void validate(const GemmOptions& options);

}  // namespace awsdt::megatron
