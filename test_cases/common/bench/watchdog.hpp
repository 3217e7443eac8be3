// A deadline on each blocking phase of a multi-rank job (a training step, a checkpoint save). NCCL, like MPI,
// has no timeout of its own: a peer that hangs, or that died where no launcher noticed, leaves the others
// waiting in a collective forever. When a phase outlives the deadline, the watchdog prints one line naming this
// rank, its host and the phase, aborts the communicator (as the error boundary does: MPI_Abort ends an MPI job,
// ncclCommAbort frees this rank) and exits with status 1, which launchers take as the end of the job.
// PyTorch's process groups do the same with their collective timeout (10 minutes by default for NCCL).
// While a phase runs, the watchdog also polls a probe for faults the backend found on its own (NCCL's
// asynchronous errors: a failed EFA link leaves the kernels waiting), every 100 ms as PyTorch's NCCL watchdog
// does, and ends the job the same way at the first one instead of at the deadline.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace awsdt {

struct CommWorld;

/// A fault to end the job for, or empty while all is well. Called from the watchdog's thread.
using FaultProbe = std::function<std::string()>;

/// The probe of the asynchronous errors of every communicator of `world` (none for a backend without them);
/// `world` must outlive the watchdog that polls it.
FaultProbe async_error_probe(const CommWorld& world);

class Watchdog {
 public:
  /// timeout_s <= 0: no deadline. No thread is started when there is neither a deadline nor a probe.
  explicit Watchdog(double timeout_s, FaultProbe probe = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Starts the deadline of `phase` (e.g. "step 12"), named in the message if it fires.
  void arm(std::string phase);
  /// The phase ended in time.
  void disarm();

 private:
  void watch();
  [[noreturn]] void fail(std::unique_lock<std::mutex>& lock, const std::string& why);

  double timeout_s_;
  FaultProbe probe_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string phase_;
  bool armed_ = false, stop_ = false;
  unsigned long generation_ = 0;
  std::thread thread_;
};

}  // namespace awsdt
