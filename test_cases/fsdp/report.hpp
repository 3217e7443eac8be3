// What awsdt-fsdp prints and records: the memory estimate, the --print-config description, the per-step line
// (HyperPod's log monitor matches ".*Loss:.*") and the JSON of a step.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "step_stats.hpp"

namespace awsdt::fsdp {

/// Bytes the fp32 engine needs on one rank, by kind.
struct MemoryEstimate {
  std::int64_t params = 0;       ///< weights (fp32)
  std::int64_t grads = 0;        ///< gradients (fp32)
  std::int64_t optimizer = 0;    ///< AdamW m and v (fp32)
  std::int64_t activations = 0;  ///< what the forward keeps for one micro-batch
  std::int64_t scratch = 0;      ///< backward scratch for one micro-batch
  /// The sum of the above.
  std::int64_t total() const { return params + grads + optimizer + activations + scratch; }
};

/// The estimate for plan's model and micro-batch (mirrors nn/activations.cpp's buffer sizes).
MemoryEstimate estimate_memory(const Plan& plan);
/// Human-readable multi-line description of the run (model, parameters, FLOPs/token, batch, memory).
std::string describe_plan(const Plan& plan, const Options& options);
/// Model FLOPs of one step (torchtitan's flops_per_token × tokens per step).
double step_flops(const Plan& plan);
/// "step N/M | Loss: ... | grad norm: ... | lr: ... | step time: ... ms | tokens/s: ... | TFLOP/s: ... | MFU: ...%".
std::string step_line(int step, int steps, const StepStats& s, double tokens_per_s, double tflops, double mfu_percent);
/// Peak resident set size of this process in bytes (getrusage).
std::int64_t peak_rss_bytes();

}  // namespace awsdt::fsdp
