// LrSchedule: warm-up and decay arithmetic.
#include "nn/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "util/error.hpp"

namespace awsdt::nn {

LrDecay parse_lr_decay(std::string_view name) {
  if (name == "cosine") return LrDecay::cosine;
  if (name == "linear") return LrDecay::linear;
  if (name == "constant") return LrDecay::constant;
  throw UsageError("unknown learning-rate schedule '" + std::string(name) + "' (known: cosine, linear, constant)");
}

std::string lr_decay_name(LrDecay decay) {
  switch (decay) {
    case LrDecay::cosine: return "cosine";
    case LrDecay::linear: return "linear";
    case LrDecay::constant: return "constant";
  }
  return "?";
}

void LrSchedule::validate() const {
  if (!(lr >= 0.0)) throw UsageError("learning rate must be >= 0 (got " + std::to_string(lr) + ")");
  if (!(min_lr >= 0.0) || min_lr > lr)
    throw UsageError("min lr must be in [0, lr] (got " + std::to_string(min_lr) + ", lr " + std::to_string(lr) + ")");
  if (warmup_steps < 0) throw UsageError("warm-up steps must be >= 0 (got " + std::to_string(warmup_steps) + ")");
  if (total_steps < 1) throw UsageError("steps must be >= 1 (got " + std::to_string(total_steps) + ")");
}

double LrSchedule::at(int step) const {
  if (step < warmup_steps) return lr * (step + 1) / warmup_steps;
  if (decay == LrDecay::constant) return lr;
  const int span = total_steps - 1 - warmup_steps;
  const double p = span > 0 ? std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0) : 0.0;
  if (decay == LrDecay::linear) return lr - (lr - min_lr) * p;
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
}

}  // namespace awsdt::nn
