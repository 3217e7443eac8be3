// `awsdt-megatron train`: Llama pre-training with Megatron-LM's tensor parallelism (--tp, --sequence-parallel) and
// data parallelism across the TP groups (DDP, or --use-distributed-optimizer), on the core's training library:
// awsdt-fsdp's flags, data, schedule, optimizer, checkpoints and documents, with Megatron's iteration line.
#pragma once

#include "train/options.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::megatron {

/// The train subcommand's flags: every flag awsdt-fsdp and awsdt-megatron train share, and Megatron's own.
struct TrainOptions {
  train::Options common;
  bool distributed_optimizer = false;  ///< Megatron's --use-distributed-optimizer (ZeRO-1 over data parallelism)
};

void add_train_options(CLI::App& app, TrainOptions& o);
/// Runs the subcommand (or answers --check-args / --print-config); the exit status.
int run_train(TrainOptions& options, int argc, char** argv);

}  // namespace awsdt::megatron
