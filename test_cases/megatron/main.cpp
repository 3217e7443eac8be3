// awsdt-megatron: Megatron-LM-style tensor parallelism. `gemm` measures the TP GEMMs with their communication
// (serial, pipelined, ring), on GPUs over NCCL + cuBLASLt and on CPUs over MPI + OpenBLAS.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "bench/peak.hpp"
#include "gemm_command.hpp"
#include "options.hpp"

using namespace awsdt;
using namespace awsdt::megatron;

namespace {

int run(int argc, char** argv) {
  CLI::App app{"awsdt-megatron: Megatron-style tensor parallelism: TP GEMM + communication (gemm)"};
  app.set_version_flag("--version", AWSDT_VERSION);
  app.require_subcommand(1);
  GemmOptions gemm;
  add_gemm_options(*app.add_subcommand("gemm",
                                       "tensor-parallel GEMMs with their collectives: ag_gemm, gemm_rs, "
                                       "gemm_ar, layer; serial, pipelined, ring"),
                   gemm);
  // Also before the subcommand, where `awsdt run` puts it.
  app.add_option("--check-args", gemm.check_args_ranks, "check the flags for N ranks and exit, without communicating")
      ->check(CLI::NonNegativeNumber);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows reach log monitors as they are measured
  return run_gemm(gemm, argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  select_blas_kernels(argv);
  return guarded_main([&] { return run(argc, argv); });
}
