// awsdt-fsdp: Llama pre-training, FSDP-sharded over the ranks a launcher starts (one rank without one): the
// fp32 CPU engine over MPI, or the bf16 CUDA engine over NCCL (one GPU per rank); one engine, one loop
// (trainer.hpp). This file parses the flags and answers the ones that need no run.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "awsdt/config.hpp"
#include "bench/guard.hpp"
#include "bench/peak.hpp"
#include "train/options.hpp"
#include "train/report.hpp"
#include "train/trainer.hpp"

using namespace awsdt;
using namespace awsdt::train;

namespace {

int run(int argc, char** argv) {
  CLI::App app{
      "awsdt-fsdp: Llama pre-training, FSDP-sharded: the fp32 CPU engine over MPI ranks or the bf16 "
      "CUDA engine over NCCL"};
  Options o;
  add_options(app, o);
  app.set_version_flag("--version", AWSDT_VERSION);
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // step lines reach log monitors as they happen
  if (o.check_args_ranks > 0) {
    make_plan(o, o.check_args_ranks);  // throws UsageError naming the flag
    return 0;
  }
  if (o.print_config) {
    std::fputs(describe_plan(make_plan(o, o.print_config_ranks), o).c_str(), stdout);
    return 0;
  }
  Trainer trainer(o, argc, argv);
  return trainer.run();
}

}  // namespace

int main(int argc, char** argv) {
  select_blas_kernels(argv);
  return guarded_main([&] { return run(argc, argv); });
}
