// Trainer: gradient accumulation, global-norm clipping and AdamW over the model's units.
#include "trainer.hpp"

#include <chrono>
#include <cmath>
#include <tuple>

#include "util/error.hpp"

namespace awsdt::fsdp {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Trainer::Trainer(nn::Model& model, TrainerOptions options) : model_(model), options_(std::move(options)) {
  AWSDT_CHECK(options_.grad_accum >= 1, "Trainer: grad_accum must be >= 1");
  for (const nn::ParamUnit& u : model_.units())
    optimizers_.emplace_back(options_.adamw, u.params.size(), nn::decay_segments(u.layout));
}

double Trainer::accumulate_gradients(nn::TokenSource& data) {
  model_.zero_grad();
  double loss = 0;
  for (int i = 0; i < options_.grad_accum; ++i) {
    data.next(batch_);
    loss += model_.forward(batch_.inputs.data(), batch_.targets.data(), batch_.B, batch_.T);
    model_.backward();
  }
  if (options_.grad_accum > 1) {
    const float inv = 1.0f / static_cast<float>(options_.grad_accum);
    for (nn::ParamUnit& u : model_.units()) nn::scale(u.grads, inv);
  }
  return loss / options_.grad_accum;
}

std::pair<double, double> Trainer::update(int step) {
  double sq = 0;
  for (const nn::ParamUnit& u : model_.units()) sq += nn::sum_of_squares(u.grads);
  const double norm = std::sqrt(options_.reduce_sum(sq));
  const double coef = nn::clip_coefficient(norm, options_.grad_clip);
  const double lr = options_.schedule.at(step);
  auto& units = model_.units();
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (coef < 1.0) nn::scale(units[i].grads, static_cast<float>(coef));
    optimizers_[i].step(units[i].params, units[i].grads, lr);
  }
  return {norm, lr};
}

StepStats Trainer::step(nn::TokenSource& data, int step) {
  StepStats s;
  const auto t0 = std::chrono::steady_clock::now();
  s.loss = accumulate_gradients(data);
  s.compute_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  std::tie(s.grad_norm, s.lr) = update(step);
  s.optimizer_ms = ms_since(t1);
  s.step_ms = ms_since(t0);
  return s;
}

}  // namespace awsdt::fsdp
