// Trainer: one awsdt-fsdp run from parsed flags to exit status, in the order a run happens: set-up (the
// communicators, the plan, the checkpoint policy, the data, threads and the compute peak), resume, the steps,
// preemption, and the finish (result document, export, exit status). Collective: every rank runs it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "bench/metrics_file.hpp"
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

/// Which trainer runs: awsdt-fsdp (the model whole on every rank, sharded by FSDP) or awsdt-megatron train
/// (Megatron's tensor parallelism over groups of --tp ranks, data parallelism across them: DDP, or the
/// distributed optimizer as --sharding grad_op). The loop, data, checkpoints and documents are the same.
enum class TrainerKind { fsdp, megatron };

class Trainer {
 public:
  /// Set-up. Throws UsageError for flags that do not fit the world or a checkpoint that does not fit the run.
  /// argc, argv: recorded in the result document.
  Trainer(const Options& options, int argc, char** argv, TrainerKind kind = TrainerKind::fsdp);
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
  void print_step(int s, const FsdpStepStats& fs, const StepRates& rates, double exposed, double compute_only_ms);
  void write_metrics(int s, const FsdpStepStats& fs, const StepRates& rates, double exposed) const;
  const char* name() const { return kind_ == TrainerKind::fsdp ? "fsdp" : "megatron"; }
  /// How the TP collectives run, for the megatron lines.
  std::string tp_comm_mode() const;

  Options o_;
  int argc_;
  char** argv_;
  TrainerKind kind_;
  bool on_gpu_ = false;
  CommWorld world_;
  Communicator* comm_ = nullptr;
  int rank_ = 0;
  int dp_rank_ = 0;                   // this rank's place among the data-parallel ranks (its data slice)
  std::unique_ptr<Communicator> tp_;  // megatron: this rank's tensor-parallel group
  std::unique_ptr<Communicator> dp_;  // megatron: the ranks holding the same slices
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
  MetricsFile metrics_;  // --metrics-file: rewritten at every logged step
  std::int64_t start_step_ = 0;
  double flops_ = 0;
  bool finite_ = true;
  std::int32_t preempted_by_ = 0;
  std::int64_t gpu_memory_peak_ = 0;
};

}  // namespace awsdt::train
