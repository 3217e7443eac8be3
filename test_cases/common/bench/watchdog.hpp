// A deadline on each blocking phase of a multi-rank job (a training step, a checkpoint save). NCCL, like MPI,
// has no timeout of its own: a peer that hangs, or that died where no launcher noticed, leaves the others
// waiting in a collective forever. When a phase outlives the deadline, the watchdog prints one line naming this
// rank, its host and the phase, aborts the communicator (as the error boundary does: MPI_Abort ends an MPI job,
// ncclCommAbort frees this rank) and exits with status 1, which launchers take as the end of the job.
// PyTorch's process groups do the same with their collective timeout (10 minutes by default for NCCL).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace awsdt {

class Watchdog {
 public:
  /// timeout_s <= 0: never fires (no thread is started).
  explicit Watchdog(double timeout_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Starts the deadline of `phase` (e.g. "step 12"), named in the message if it fires.
  void arm(std::string phase);
  /// The phase ended in time.
  void disarm();

 private:
  void watch();

  double timeout_s_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string phase_;
  bool armed_ = false, stop_ = false;
  unsigned long generation_ = 0;
  std::thread thread_;
};

}  // namespace awsdt
