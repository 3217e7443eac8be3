// The figures of every step of a run: one JSON row per step for the result document, and the series the
// summary's medians come from. The first step pays for allocation and page faults, so it enters the series only
// when it is the run's only step.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "bench/summary.hpp"
#include "train/fsdp_engine.hpp"

namespace awsdt::train {

/// What a step achieved, derived from its time.
/// Per-device figures are what torchtitan ("tps", "tflops") and Megatron-LM ("TFLOP/s/GPU") print.
struct StepRates {
  double tokens_per_s = 0;             ///< global: every rank's tokens
  double tokens_per_s_per_device = 0;  ///< the global figure over the ranks
  double tflops_per_device = 0;        ///< model TFLOP/s (6·N + 12·L·d·T per token) of one rank
  double mfu_percent = 0;              ///< tflops_per_device against one rank's peak; NaN without a peak
  bool has_mfu() const { return mfu_percent == mfu_percent; }
};

/// Rates of a step of `step_ms` that does `flops` model FLOPs and `tokens` tokens over `ranks` ranks.
StepRates step_rates(double step_ms, double flops, double tokens, double peak_flops_per_rank, int ranks);

class StepSeries {
 public:
  /// Records a step (1-based `step`); `counted` steps enter the medians.
  void add(int step, const FsdpStepStats& fs, const StepRates& rates, double exposed_comm_ms, bool counted);

  const nlohmann::json& rows() const { return rows_; }  ///< a JSON array, one object per step
  Summary tokens_per_s() const { return summarize(tokens_per_s_); }
  Summary tokens_per_s_per_device() const { return summarize(tokens_per_device_); }
  Summary tflops_per_device() const { return summarize(tflops_); }
  Summary mfu() const { return summarize(mfu_); }  ///< count 0 when no peak was known
  Summary step_ms() const { return summarize(step_ms_); }
  Summary compute_ms() const { return summarize(compute_ms_); }
  Summary exposed_comm_ms() const { return summarize(exposed_ms_); }
  Summary comm_wait_ms() const { return summarize(wait_ms_); }
  Summary comm_cpu_ms() const { return summarize(comm_cpu_ms_); }

 private:
  nlohmann::json rows_ = nlohmann::json::array();
  std::vector<double> tokens_per_s_, tokens_per_device_, tflops_, mfu_, step_ms_, compute_ms_, exposed_ms_, wait_ms_,
      comm_cpu_ms_;
};

}  // namespace awsdt::train
