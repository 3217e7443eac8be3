// Learning-rate schedule: linear warm-up to the peak, then cosine, linear or constant decay to min_lr.
#pragma once

#include <string>
#include <string_view>

namespace awsdt::nn {

/// The shape of the decay after warm-up.
enum class LrDecay { cosine, linear, constant };

/// Parses "cosine", "linear" or "constant"; throws awsdt::UsageError otherwise.
LrDecay parse_lr_decay(std::string_view name);
/// The name parse_lr_decay accepts for decay.
std::string lr_decay_name(LrDecay decay);

/// Warm-up then decay over total_steps steps, indexed from 0 (llm.c's convention for the warm-up).
struct LrSchedule {
  double lr = 3e-4;                 ///< peak learning rate
  double min_lr = 0.0;              ///< learning rate at the last step (cosine and linear)
  int warmup_steps = 0;             ///< steps of linear warm-up
  int total_steps = 1;              ///< steps of the whole run
  LrDecay decay = LrDecay::cosine;  ///< shape after warm-up

  /// The rate for 0-based step s: s < warmup: lr·(s+1)/warmup; then with progress
  /// p = (s - warmup) / (total - 1 - warmup) clamped to [0, 1] (0 when there is no decay phase):
  /// cosine min + (lr-min)·(1+cos πp)/2, linear lr - (lr-min)·p, constant lr. So the first step after
  /// warm-up runs at lr and the last step (total-1) at min_lr.
  double at(int step) const;
  /// Throws awsdt::UsageError for negative rates or steps, or min_lr > lr.
  void validate() const;
};

}  // namespace awsdt::nn
