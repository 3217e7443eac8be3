// Warm-up and timed loops over one or more streams, timed on the streams themselves (events), so the time is
// what the device spent, not what the host spent enqueueing: the same meaning on CPU streams and GPUs.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "device/device.hpp"

namespace awsdt {

struct LoopConfig {
  int warmup = 5;
  int iters = 20;
  bool per_iteration = false;  ///< one sample per iteration instead of one average over the loop
  bool blocking = false;       ///< synchronize after every iteration (host-timed), as nccl-tests -z 1
  int graph_launches = 0;      ///< CUDA only: capture the timed loop into a graph, replay it this many times
  double timeout_s = 0;        ///< a loop that does not finish in this long throws (0 = wait forever)
  /// Runs between the warm-up and the timed loop: nccl-tests puts a barrier across ranks there, so that no
  /// rank's late start enters every rank's time.
  std::function<void()> before_timing;
};

/// Runs launch(i) for the warm-up then the timed iterations; every launch enqueues onto all of `streams`.
/// Returns microseconds per iteration: one sample (the loop's average), or one per iteration.
/// The time of a loop over several streams is that of the slowest stream.
std::vector<double> time_loop(std::span<Stream> streams, const LoopConfig& config,
                              const std::function<void(int)>& launch);

/// Waits for `stream` up to timeout_s (0 = forever); on timeout throws an Error saying what was stuck.
void synchronize_or_throw(Stream& stream, double timeout_s, const char* what);

}  // namespace awsdt
