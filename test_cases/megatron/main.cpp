// awsdt-megatron: Megatron-LM-style tensor parallelism. `gemm` measures the TP GEMMs with their communication
// (serial, pipelined, ring), on GPUs over NCCL + cuBLASLt and on CPUs over MPI + OpenBLAS; `train` trains Llama
// with tensor, sequence and data parallelism (train_command.hpp).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "bench/peak.hpp"
#include "gemm_command.hpp"
#include "options.hpp"
#include "train_command.hpp"

using namespace awsdt;
using namespace awsdt::megatron;

namespace {

int run(int argc, char** argv) {
  CLI::App app{
      "awsdt-megatron: Megatron-style tensor parallelism: TP GEMM + communication (gemm), TP x DP training (train)"};
  app.set_version_flag("--version", AWSDT_VERSION);
  app.require_subcommand(1);
  GemmOptions gemm;
  CLI::App* gemm_app = app.add_subcommand("gemm",
                                          "tensor-parallel GEMMs with their collectives: ag_gemm, gemm_rs, "
                                          "gemm_ar, layer; serial, pipelined, ring");
  add_gemm_options(*gemm_app, gemm);
  TrainOptions train;
  add_train_options(*app.add_subcommand("train",
                                        "Llama pre-training with Megatron's tensor (+ sequence) parallelism and data "
                                        "parallelism (DDP or the distributed optimizer)"),
                    train);
  // Also before the subcommand, where `awsdt run` puts it.
  int check_args = 0;
  app.add_option("--check-args", check_args, "check the flags for N ranks and exit, without communicating")
      ->check(CLI::NonNegativeNumber);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows and step lines reach log monitors as they happen
  if (gemm_app->parsed()) {
    if (check_args > 0) gemm.check_args_ranks = check_args;
    return run_gemm(gemm, argc, argv);
  }
  if (check_args > 0) train.common.check_args_ranks = check_args;
  return run_train(train, argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  select_blas_kernels(argv);
  return guarded_main([&] { return run(argc, argv); });
}
