// What one training step measured (the engine's figures; FsdpStepStats adds the communication), and the
// millisecond timer every phase is measured with.
#pragma once

#include <chrono>

namespace awsdt::train {

/// What one step measured.
struct StepStats {
  double loss = 0;          ///< mean loss over the step's micro-batches (and ranks)
  double grad_norm = 0;     ///< global gradient norm before clipping
  double lr = 0;            ///< learning rate used
  double compute_ms = 0;    ///< forward + backward of every micro-batch (not reading the data)
  double optimizer_ms = 0;  ///< clipping + AdamW
  double step_ms = 0;       ///< the whole step
};

/// Milliseconds since t0.
inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace awsdt::train
