// `awsdt-megatron train` (see train_command.hpp): the core's Trainer in its Megatron form.
#include "train_command.hpp"

#include <cstdio>

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
}

int run_train(TrainOptions& o, int argc, char** argv) {
  train::Options& c = o.common;
  c.sharding = o.distributed_optimizer ? "grad_op" : "none";
  if (c.recompute) throw UsageError("--recompute is not implemented in awsdt-megatron train yet (awsdt-fsdp has it)");
  if (c.check_args_ranks > 0) {
    train::make_plan(c, c.check_args_ranks);  // throws UsageError naming the flag
    return 0;
  }
  if (c.print_config) {
    std::fputs(train::describe_plan(train::make_plan(c, c.print_config_ranks * c.tp), c).c_str(), stdout);
    return 0;
  }
  train::Trainer trainer(c, argc, argv, train::TrainerKind::megatron);
  return trainer.run();
}

}  // namespace awsdt::megatron
