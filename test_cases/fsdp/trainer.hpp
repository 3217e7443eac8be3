// One optimizer step of the single-process trainer, split into the phases a sharded (FSDP) trainer wraps:
// accumulate_gradients() runs the micro-batches' forward and backward into the unit gradients; a sharded
// trainer reduce-scatters each unit's gradients there and then calls update() on its shards; update() clips to
// the global norm (the sum of squares goes through the reduce_sum hook, an all-reduce under FSDP) and applies
// AdamW with the scheduled learning rate, one optimizer state per unit.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "nn/data.hpp"
#include "nn/lr_schedule.hpp"
#include "nn/model.hpp"
#include "nn/optimizer.hpp"

namespace awsdt::fsdp {

/// How the trainer updates the model.
struct TrainerOptions {
  nn::AdamWOptions adamw;     ///< optimizer hyper-parameters
  nn::LrSchedule schedule;    ///< learning rate per step
  double grad_clip = 1.0;     ///< max global gradient norm (≤ 0: off)
  int grad_accum = 1;         ///< micro-batches per step
  /// Sums a local value over the data-parallel ranks (identity for one process).
  std::function<double(double)> reduce_sum = [](double x) { return x; };
};

/// Milliseconds since t0 (the step timers of every trainer).
double ms_since(std::chrono::steady_clock::time_point t0);

/// What one step measured.
struct StepStats {
  double loss = 0;          ///< mean loss over the step's micro-batches
  double grad_norm = 0;     ///< global gradient norm before clipping
  double lr = 0;            ///< learning rate used
  double compute_ms = 0;    ///< forward + backward of every micro-batch (including data)
  double optimizer_ms = 0;  ///< clipping + AdamW
  double step_ms = 0;       ///< the whole step
};

/// Trains a Model with AdamW: zero_grad, accumulate, clip, update.
class Trainer {
 public:
  /// Optimizer state for each of model's units (weight decay on matrices only, see nn/optimizer.hpp).
  Trainer(nn::Model& model, TrainerOptions options);

  /// Zeroes the gradients, then runs grad_accum micro-batches from data; leaves the MEAN gradient over them in
  /// the units and returns the mean loss.
  double accumulate_gradients(nn::TokenSource& data);
  /// Clips and applies AdamW at schedule.at(step); returns {pre-clip global norm, lr}.
  std::pair<double, double> update(int step);
  /// accumulate_gradients then update, timed.
  StepStats step(nn::TokenSource& data, int step);

 private:
  nn::Model& model_;
  TrainerOptions options_;
  std::vector<nn::AdamW> optimizers_;
  nn::TokenBatch batch_;
};

}  // namespace awsdt::fsdp
