// The test-only hooks of awsdt-fsdp, in one place: hidden flags that make a rank die, hang, be killed inside a
// checkpoint save, or receive a preemption signal at a chosen step, and make the CPU engine compute on bf16
// parameters as the GPU engine does. Production code reads none of these fields except through the questions
// below, each asked where the fault happens.
#pragma once

#include "util/cli_fwd.hpp"

namespace awsdt::train {

struct FaultInjection {
  bool emulate_gpu_compute = false;  ///< the CPU engine computes on bf16 params, as GPUs do
  int fail_rank = -1;                ///< this rank dies ...
  int fail_at_step = 0;              ///< ... in the middle of this step (1-based; 0: never)
  bool fail_hangs = false;           ///< ... and hangs there (sleeps forever) instead of dying
  int fail_in_save = 0;              ///< ... or SIGKILLs itself inside the save after this step (0: never)
  int signal_at_step = 0;            ///< every rank raises SIGTERM at the start of this step
  bool signal_in_save = false;       ///< ... and inside its save instead, with signal_at_step

  /// Registers the hidden flags (--fail-rank, --fail-at-step, --fail-hang, --fail-in-save, --signal-at-step,
  /// --signal-in-save, --emulate-gpu-compute).
  void add_flags(CLI::App& app);

  /// The 0-based step in whose middle `rank`'s engine fails, or -1.
  int engine_fail_step(int rank) const { return rank == fail_rank && fail_at_step > 0 ? fail_at_step - 1 : -1; }
  /// Whether `rank` is killed inside the save after `step` (1-based).
  bool kills_in_save(int rank, int step) const { return rank == fail_rank && fail_in_save == step; }
  /// Whether SIGTERM is raised at the start of `step` (1-based).
  bool signals_before_step(int step) const { return signal_at_step == step && !signal_in_save; }
  /// Whether SIGTERM is raised inside the save after `step` (1-based).
  bool signals_in_save(int step) const { return signal_at_step == step && signal_in_save; }
};

}  // namespace awsdt::train
