// The hidden test-hook flags (see fault_injection.hpp).
#include "train/fault_injection.hpp"

#include <CLI/CLI.hpp>

namespace awsdt::train {

void FaultInjection::add_flags(CLI::App& app) {
  app.add_flag("--emulate-gpu-compute", emulate_gpu_compute,
               "test hook: the CPU engine receives bf16 params as the GPU engine does (its gather path under MPI)")
      ->group("");
  app.add_option("--fail-rank", fail_rank, "test hook: the rank that dies (with --fail-at-step)")->group("");
  app.add_option("--fail-at-step", fail_at_step, "test hook: the step (1-based) in whose middle it dies")->group("");
  app.add_flag("--fail-hang", fail_hangs, "test hook: with --fail-at-step, the rank hangs instead of dying")->group("");
  app.add_option("--fail-in-save", fail_in_save, "test hook: it is SIGKILLed inside the save after this step")
      ->group("");
  app.add_option("--signal-at-step", signal_at_step,
                 "test hook: every rank raises SIGTERM (deferred, as a scheduler's would be) at the start of this step")
      ->group("");
  app.add_flag("--signal-in-save", signal_in_save,
               "test hook: with --signal-at-step, raise it inside that step's save instead")
      ->group("");
}

}  // namespace awsdt::train

#include <CLI/CLI.hpp>
