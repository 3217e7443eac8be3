// `awsdt-megatron train` (see train_command.hpp): the core's Trainer in its Megatron form.
#include "train_command.hpp"

#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/options.hpp"
#include "device/device.hpp"
#include "train/report.hpp"
#include "train/trainer.hpp"
#include "util/error.hpp"

namespace awsdt::megatron {

void add_train_options(CLI::App& app, TrainOptions& o) {
  train::add_training_options(app, o.common);
  auto* m = app.add_option_group("Megatron", "tensor and data parallelism as Megatron-LM's flags name them");
  m->add_option("--tp,--tensor-model-parallel-size", o.common.tp,
                "tensor-parallel ranks per model replica (consecutive ranks; must divide the ranks, the heads, the MLP "
                "width and the vocabulary; key/value heads are split or replicated); the rest is data parallelism")
      ->capture_default_str();
  m->add_flag("--sequence-parallel", o.common.sequence_parallel,
              "norms and residuals on sequence shards: all-gather before the column-parallel GEMMs, reduce-scatter "
              "after the row-parallel ones");
  m->add_flag("--use-distributed-optimizer", o.distributed_optimizer,
              "shard AdamW state and fp32 master weights over the data-parallel ranks (ZeRO-1): gradients are "
              "reduce-scattered, parameters all-gathered (default: DDP, gradients all-reduced)");
  m->add_flag("--tp-comm-overlap", o.common.tp_comm_overlap,
              "overlap the TP collectives with the GEMMs beside them (awsdt-megatron gemm's kernels): all-gather + "
              "GEMM and GEMM + reduce-scatter with --sequence-parallel, GEMM + all-reduce without");
  m->add_option("--tp-comm-overlap-method", o.common.tp_comm_method,
                "how --tp-comm-overlap splits each GEMM: ring (tp point-to-point steps, each beside a GEMM), "
                "pipelined (--tp-comm-overlap-chunks row chunks) or serial (the same kernels without overlap)")
      ->capture_default_str();
  m->add_option("--tp-comm-overlap-chunks", o.common.tp_comm_chunks,
                "pipelined: chunks of rows each collective is split into (at most the rows it splits)")
      ->capture_default_str();
}

namespace {

// --tp-comm-overlap's flags, before any rank starts: one line naming the value.
void check_tp_comm_overlap(const train::Options& c, const train::Plan& plan) {
  if (c.tp_comm_method != "ring" && c.tp_comm_method != "pipelined" && c.tp_comm_method != "serial")
    throw UsageError(fmt::format("--tp-comm-overlap-method '{}' is not ring, pipelined or serial", c.tp_comm_method));
  if (c.tp_comm_chunks < 1)
    throw UsageError(fmt::format("--tp-comm-overlap-chunks must be >= 1 (got {})", c.tp_comm_chunks));
  const int tokens = plan.micro_batch * plan.seq_len;
  if (c.tp_comm_overlap && c.tp_comm_method == "ring" && tokens % plan.tp != 0)
    throw UsageError(
        fmt::format("--tp-comm-overlap-method ring splits the {} x {} tokens of a micro-batch over --tp "
                    "{}: they must divide",
                    plan.micro_batch, plan.seq_len, plan.tp));
}

// What the CUDA model does not do yet, refused in one line before any rank starts.
void check_cuda(const train::Options& c, const train::Plan& plan) {
  if (c.tp_comm_overlap)
    throw UsageError(
        "--tp-comm-overlap runs on CPUs only for now: with --device cuda the TP collectives run on the model's "
        "stream between its GEMMs (NCCL), not overlapped");
}

}  // namespace

int run_train(TrainOptions& o, int argc, char** argv) {
  train::Options& c = o.common;
  c.sharding = o.distributed_optimizer ? "grad_op" : "none";
  const bool cuda = for_flag("--device", [&] { return Device::parse(train::resolve_device(c.device)); }).is_cuda();
  // Before --check-args answers, so that `awsdt run` refuses a GPU job it cannot run before submitting it.
  if (c.check_args_ranks > 0) {
    const train::Plan plan = train::make_plan(c, c.check_args_ranks);
    check_tp_comm_overlap(c, plan);  // throws UsageError naming the flag
    if (cuda) check_cuda(c, plan);
    return 0;
  }
  if (c.tp_comm_overlap) check_tp_comm_overlap(c, train::make_plan(c, std::max(c.tp, 1)));
  if (cuda) check_cuda(c, train::make_plan(c, std::max(c.tp, 1)));
  if (c.print_config) {
    std::fputs(train::describe_plan(train::make_plan(c, c.print_config_ranks * c.tp), c).c_str(), stdout);
    return 0;
  }
  train::Trainer trainer(c, argc, argv, train::TrainerKind::megatron);
  return trainer.run();
}

}  // namespace awsdt::megatron
