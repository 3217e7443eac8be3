// Trainer: one awsdt-fsdp run from parsed flags to exit status, in the order a run happens: set-up (the
// communicators, the plan, the checkpoint policy, the data, threads and the compute peak), resume, the steps,
// preemption, and the finish (result document, export, exit status). Collective: every rank runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "bench/peak.hpp"
#include "bench/watchdog.hpp"
#include "train/checkpoint_policy.hpp"
#include "comm/registry.hpp"
#include "train/fsdp_engine.hpp"
#include "train/options.hpp"
#include "results/result.hpp"
#include "train/run_summary.hpp"
#include "train/sharding.hpp"
#include "train/slice_source.hpp"
#include "train/step_series.hpp"

namespace awsdt::train {

class Trainer {
 public:
  /// Set-up. Throws UsageError for flags that do not fit the world or a checkpoint that does not fit the run.
  /// argc, argv: recorded in the result document.
  Trainer(const Options& options, int argc, char** argv);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Trains from the resumed step to --steps, or until a preemption signal, then finishes; the exit status.
  int run();

 private:
  void start_communication();
  void open_data();
  void build_engine();
  bool resume();
  void start_result_document();
  void step(int s);
  void measure_compute_only();
  void checkpoint_if_due(int s);
  int finish();
  int preempted_exit_status() const;

  Options o_;
  int argc_;
  char** argv_;
  bool on_gpu_ = false;
  CommWorld world_;
  Communicator* comm_ = nullptr;
  int rank_ = 0;
  Plan plan_;
  ShardGroups groups_;
  std::optional<CheckpointPolicy> checkpoints_;
  std::unique_ptr<RankSliceSource> data_;
  ComputePeak peak_;
  std::unique_ptr<FsdpEngine> engine_;
  ResultDocument doc_;
  std::unique_ptr<Watchdog> watchdog_;
  StepSeries series_;
  RunTotals totals_;
  std::int64_t start_step_ = 0;
  double flops_ = 0;
  bool finite_ = true;
  std::int32_t preempted_by_ = 0;
  std::int64_t gpu_memory_peak_ = 0;
};

}  // namespace awsdt::train
