// Command-line options of awsdt-fsdp and their resolution into a validated run plan (model shape, batch
// arithmetic, schedule). Bad input becomes awsdt::UsageError (one line, exit status 2).
#pragma once

#include <cstdint>
#include <string>

#include "train/fault_injection.hpp"
#include "nn/config.hpp"
#include "nn/attention_kernel.hpp"
#include "nn/data.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/optimizer.hpp"
#include "train/sharding.hpp"
#include "util/cli_fwd.hpp"

namespace awsdt::train {

/// Everything the command line sets, as typed (before validation).
struct Options {
  std::string model = "tiny";          ///< preset name
  std::string device = "auto";         ///< auto (cuda when a GPU is visible), cpu, cuda or cuda:N
  int threads = 0;                     ///< CPU threads per rank (0: the environment's or the rank's share of its CPUs)
  int steps = 20;                      ///< optimizer steps
  int micro_batch_size = 4;            ///< sequences per forward/backward
  int global_batch_size = 0;           ///< sequences per optimizer step (0: micro_batch_size · world)
  int seq_len = 0;                     ///< tokens per sequence (0: min(max_seq_len, 1024))
  double lr = 3e-4;                    ///< peak learning rate
  double min_lr = -1;                  ///< final learning rate (< 0: lr / 10)
  int warmup_steps = -1;               ///< warm-up steps (< 0: steps / 10)
  std::string lr_schedule = "cosine";  ///< cosine | linear | constant
  nn::AdamWOptions adamw;              ///< betas, eps, weight decay
  double grad_clip = 1.0;              ///< max global gradient norm (≤ 0: off)
  std::uint64_t seed = 42;             ///< model initialisation and synthetic data
  std::string data;                    ///< token file (empty: synthetic)
  std::string data_dtype = "uint16";   ///< uint16 | uint32
  std::string synthetic = "random";    ///< random | pattern (without --data)
  int log_every = 1;                   ///< print a step line every N steps (and the first and last)
  std::string output;                  ///< JSON result document path
  std::string metrics_file;            ///< --metrics-file: Prometheus text file rewritten each logged step
  bool print_config = false;           ///< describe the run and exit
  int print_config_ranks = 1;          ///< the ranks --print-config plans for
  int check_args_ranks = 0;            ///< --check-args N: validate the plan for N ranks and exit (0: run)
  bool calibrate_only = false;         ///< measure the sgemm peak, print it and exit
  int calibrate_n = 1024;              ///< square size of the sgemm calibration
  bool op_breakdown = false;           ///< time GEMMs and attention in isolation after training
  bool verbose = false;                ///< debug logging
  std::string sharding = "full";       ///< full | grad_op | none | hybrid
  int shard_group_size = 0;            ///< hybrid: ranks per shard group (0: ranks on one node... here: world / 2)
  bool no_overlap = false;             ///< serialize communication with compute
  bool recompute = false;              ///< recompute each block's activations in its backward
  std::string attention = "auto";      ///< CUDA attention kernels: auto, chunked (tensor cores) or flash
  std::string param_dtype =
      "auto";  ///< dtype parameters are gathered in: auto (fp32 on CPUs, bf16 on GPUs), fp32, bf16
  std::string reduce_dtype = "fp32";  ///< dtype gradients are reduce-scattered in
  std::string dump_params;            ///< write the consolidated fp32 parameters here after training (raw, unit order)
  std::string backend = "auto";       ///< communication backend (auto | mpi)
  std::string mpi_wait = "poll";      ///< how the MPI communication thread waits: poll | spin
  double step_timeout = 600;          ///< seconds a step (or a checkpoint save) may take before the job aborts
  FaultInjection faults;              ///< test hooks (hidden flags)
  std::string checkpoint_dir;         ///< where sharded checkpoints go (empty: none)
  int checkpoint_every = 0;           ///< save every N steps (0: only when preempted and at the end)
  std::string resume = "auto";        ///< auto | none | a checkpoint (or a directory of them)
  int keep_checkpoints = 2;           ///< complete checkpoints kept (0: all)
  std::string init_from;              ///< Hugging Face safetensors to start from
  std::string export_path;            ///< consolidated Hugging Face safetensors written at the end
  int dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, ffn_dim = 0, vocab_size = 0;  ///< overrides (0: preset)
  // Megatron's tensor parallelism (awsdt-megatron train; awsdt-fsdp keeps the defaults).
  int tp = 1;                           ///< tensor-parallel ranks per model replica
  bool sequence_parallel = false;       ///< norms and residuals on sequence shards (tp > 1)
  bool tp_comm_overlap = false;         ///< TP collectives through the chunked, overlapped kernels
  std::string tp_comm_method = "ring";  ///< --tp-comm-overlap's TpGemm method: ring | pipelined
  int tp_comm_chunks = 4;               ///< pipelined: parts of each collective
};

/// A validated run: the model shape and the derived batch and schedule numbers.
struct Plan {
  nn::ModelConfig model;                                    ///< preset plus overrides, validated
  int world = 1;                                            ///< data-parallel ranks (all ranks / tp)
  int tp = 1;                                               ///< tensor-parallel ranks per model replica
  bool sequence_parallel = false;                           ///< Megatron's sequence parallelism (tp > 1)
  int seq_len = 0;                                          ///< T
  int micro_batch = 0;                                      ///< B per forward
  int global_batch = 0;                                     ///< sequences per optimizer step, all ranks
  int grad_accum = 1;                                       ///< micro-batches per step per rank
  nn::LrSchedule schedule;                                  ///< resolved learning-rate schedule
  nn::TokenDtype data_dtype = nn::TokenDtype::uint16;       ///< token file width
  nn::SyntheticKind synthetic = nn::SyntheticKind::random;  ///< synthetic data kind
  ShardingMode sharding = ShardingMode::full;               ///< how state is distributed
  int shard_group = 1;     ///< ranks a unit is sharded over (world, 1 for none, the group for hybrid)
  bool recompute = false;  ///< activation recomputation per block
  nn::AttentionKernel attention = nn::AttentionKernel::automatic;  ///< the CUDA engine's attention kernels
  bool param_bf16 = false;                                         ///< gather (and compute on) bf16-rounded parameters
  bool reduce_bf16 = false;                                        ///< reduce-scatter gradients in bf16
  int cuda_device = -1;  ///< the GPU of --device cuda[:N] (-1: the CPU engine)
  /// Tokens per optimizer step (all ranks).
  std::int64_t tokens_per_step() const { return static_cast<std::int64_t>(global_batch) * seq_len; }
};

/// Registers every flag of awsdt-fsdp on app: add_training_options and FSDP's own (sharding, dtypes, attention).
void add_options(CLI::App& app, Options& o);
/// The flags every trainer shares, meaning the same in each: model, overrides, device, threads, steps, batch,
/// schedule, optimizer, data, logging, output, checks, checkpoints, export, timeouts, backend, fault hooks.
void add_training_options(CLI::App& app, Options& o);
/// The device --device names, with "auto" resolved: "cuda" when a GPU is visible, else "cpu".
std::string resolve_device(const std::string& requested);
/// Validates o into a Plan for `world` ranks (world / o.tp data-parallel ones); throws awsdt::UsageError naming
/// the bad flag.
Plan make_plan(const Options& o, int world = 1);

}  // namespace awsdt::train
