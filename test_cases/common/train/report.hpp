// What awsdt-fsdp prints and records: the memory estimate, the --print-config description, the per-step line
// (HyperPod's log monitor matches ".*Loss:.*") and the JSON of a step.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "train/options.hpp"
#include "train/step_series.hpp"
#include "train/step_stats.hpp"

namespace awsdt::train {

/// Bytes one rank needs, by kind, for the plan's engine (fp32 on CPUs, bf16 on GPUs) and sharding.
struct MemoryEstimate {
  std::int64_t params = 0;       ///< this rank's fp32 parameter shards (master weights)
  std::int64_t grads = 0;        ///< its fp32 gradient shards
  std::int64_t optimizer = 0;    ///< its AdamW m and v shards (fp32)
  std::int64_t gathered = 0;     ///< gathered-parameter and gradient slots (at most two blocks, as FSDP limits)
  std::int64_t activations = 0;  ///< what the forward keeps for one micro-batch
  std::int64_t scratch = 0;      ///< backward scratch for one micro-batch
  /// The sum of the above.
  std::int64_t total() const { return params + grads + optimizer + gathered + activations + scratch; }
  nlohmann::json to_json() const;
};

/// The estimate for the plan's model, micro-batch, ranks and sharding; its state and slot figures follow the
/// engine's allocation rules exactly (FullShardingDividesState checks them against the engine's own count),
/// its activations the CPU model's or the CUDA model's buffers.
MemoryEstimate estimate_memory(const Plan& plan);
/// Human-readable multi-line description of the run (model, parameters, FLOPs/token, batch, memory).
std::string describe_plan(const Plan& plan, const Options& options);
/// Model FLOPs of one step (torchtitan's flops_per_token × tokens per step).
double step_flops(const Plan& plan);
/// `step N/M | Loss: ... | tokens/s: (global) | tokens/s/device | TFLOP/s/device | MFU` (HyperPod's job monitor
/// matches `.*Loss:.*`).
std::string step_line(int step, int steps, const StepStats& s, const StepRates& rates);
/// `comm N/M | exposed comm: ... | waits | comm thread CPU (CPUs) | bytes gathered, reduce-scattered, all-reduced`;
/// `compute_only_ms` < 0 for one rank, which communicates nothing.
std::string comm_line(int step, int steps, const FsdpStepStats& fs, double exposed_ms, double compute_only_ms,
                      bool on_gpu);
/// Megatron-LM's iteration line (training.py's training_log, fp32: no loss scale), so that its users' parsers
/// read it: ` [date time] iteration N/M | consumed samples: ... | elapsed time per iteration (ms): ... | throughput
/// per GPU (TFLOP/s/GPU): ... | learning rate: ... | global batch size: ... | lm loss: ... | grad norm: ... |
/// number of skipped iterations: ... | number of nan iterations: ... |`.
std::string megatron_iteration_line(int iteration, int iterations, std::int64_t consumed_samples, const StepStats& s,
                                    const StepRates& rates, int global_batch);
/// `tp comm N/M | exposed TP comm: X ms (tp ranks) | peak RSS: ... MiB` (rank 0's).
/// mode: how the TP collectives ran ("blocking collectives", "overlapped: ring", ...).
std::string tp_comm_line(int step, int steps, double tp_comm_ms, int tp, const std::string& mode,
                         std::int64_t rss_bytes);
/// Bytes in MiB, for lines people read.
inline double mib(std::int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }
/// Peak resident set size of this process in bytes (getrusage).
std::int64_t peak_rss_bytes();

}  // namespace awsdt::train
