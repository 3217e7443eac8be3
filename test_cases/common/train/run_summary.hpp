// The end of a run: the result document's summary and rank 0's `summary |` line, both from the step series'
// medians and the run's totals, so that the log and the JSON cannot disagree.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "device/device.hpp"
#include "train/fsdp_engine.hpp"
#include "train/options.hpp"
#include "train/step_series.hpp"

namespace awsdt::train {

struct RunTotals {
  double final_loss = 0;
  double peak_flops = 0;    ///< one rank's peak behind MFU (sgemm on CPUs, the catalog's bf16 on GPUs; 0: unknown)
  std::string peak_source;  ///< what peak_flops is: the sgemm calibration's median or the instance catalog
  bool on_gpu = false;
  bool recompute = false;
  double compute_only_ms = 0;
  std::int64_t bytes_all_gathered = 0, bytes_reduce_scattered = 0, bytes_all_reduced = 0;  ///< per step
  ShardMemory memory;
  std::int64_t activation_bytes = 0;
  std::int64_t rss = 0, max_rss = 0;  ///< this rank's peak host RSS, and the largest over the ranks
  MemoryUse gpu_memory;               ///< the most any rank used, of one card's total (GPUs only)
};

/// The result document's "config" object: the run's model, batch, schedule, optimizer and parallelism, as
/// resolved; `data` describes the data source.
nlohmann::json config_json(const Options& o, const Plan& p, const std::string& data);
/// The result document's "summary" object.
nlohmann::json summary_json(const StepSeries& series, const RunTotals& totals);
/// `summary | final loss: ... | median tokens/s: ... | ...`
std::string summary_line(const StepSeries& series, const RunTotals& totals);

}  // namespace awsdt::train
