// StepSeries: per-step rows and the series behind the summary's medians.
#include "train/step_series.hpp"

#include <limits>

namespace awsdt::train {

StepRates step_rates(double step_ms, double flops, double tokens, double peak_flops_per_rank, int ranks) {
  StepRates r;
  const double seconds = step_ms / 1e3;
  r.tokens_per_s = tokens / seconds;
  r.tokens_per_s_per_device = r.tokens_per_s / ranks;
  const double flops_per_device = flops / seconds / ranks;
  r.tflops_per_device = flops_per_device / 1e12;
  r.mfu_percent = peak_flops_per_rank > 0 ? 100.0 * flops_per_device / peak_flops_per_rank
                                          : std::numeric_limits<double>::quiet_NaN();  // unknown, not 0
  return r;
}

void StepSeries::add(int step, const FsdpStepStats& fs, const StepRates& rates, double exposed_comm_ms, bool counted) {
  const StepStats& st = fs.base;
  if (counted) {
    tokens_per_s_.push_back(rates.tokens_per_s);
    tokens_per_device_.push_back(rates.tokens_per_s_per_device);
    tflops_.push_back(rates.tflops_per_device);
    if (rates.has_mfu()) mfu_.push_back(rates.mfu_percent);
    step_ms_.push_back(st.step_ms);
    compute_ms_.push_back(st.compute_ms);
    exposed_ms_.push_back(exposed_comm_ms);
    wait_ms_.push_back(fs.comm_wait_ms);
    comm_cpu_ms_.push_back(fs.comm_cpu_ms);
  }
  rows_.push_back({{"step", step},
                   {"loss", st.loss},
                   {"grad_norm", st.grad_norm},
                   {"lr", st.lr},
                   {"step_ms", st.step_ms},
                   {"compute_ms", st.compute_ms},
                   {"optimizer_ms", st.optimizer_ms},
                   {"tokens_per_s", rates.tokens_per_s},
                   {"tokens_per_s_per_device", rates.tokens_per_s_per_device},
                   {"tflops_per_device", rates.tflops_per_device},
                   {"mfu", rates.has_mfu() ? nlohmann::json(rates.mfu_percent) : nlohmann::json()},
                   {"exposed_comm_ms", exposed_comm_ms},
                   {"comm_wait_ms", fs.comm_wait_ms},
                   {"comm_cpu_ms", fs.comm_cpu_ms},
                   {"bytes_all_gathered", fs.bytes_all_gathered},
                   {"bytes_reduce_scattered", fs.bytes_reduce_scattered},
                   {"bytes_all_reduced", fs.bytes_all_reduced},
                   {"tp_comm_ms", fs.tp_comm_ms}});
}

}  // namespace awsdt::train
