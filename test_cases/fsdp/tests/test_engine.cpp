// FsdpEngine on one rank, in process (the CPU backend, a one-rank communicator): its training step (gradient
// averaging over micro-batches, clipping, the learning rate of each step, AdamW with decay on matrices only)
// equals a plain loop over nn::Model with AdamW and clipping written out here; micro-batches accumulated over a
// step equal one batch of the same sequences, the reported norm is the one before clipping, and a seed
// reproduces a run bit for bit. Multi-rank behaviour is tested under mpirun (test_fsdp_mpi.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "comm/registry.hpp"
#include "train/cpu_backend.hpp"
#include "train/fsdp_engine.hpp"
#include "nn/config.hpp"
#include "nn/data.hpp"
#include "nn/model.hpp"
#include "train/slice_source.hpp"

namespace awsdt::train {
namespace {

Communicator& world() {
  static CommWorld w = [] {
    CommConfig c;
    c.backend = "mpi";
    return make_comm_world(c);
  }();
  return w.comm();
}

struct Training {
  std::vector<FsdpStepStats> steps;
  std::vector<float> params;
};

const nn::LrSchedule kSchedule{1e-3, 1e-4, 0, 10, nn::LrDecay::cosine};

// `steps` steps of tiny on global batches of 4 sequences, in micro-batches of `micro`.
Training train(int micro, int steps, double grad_clip = 1.0, std::uint64_t seed = 5,
               const nn::LrSchedule& schedule = kSchedule) {
  const nn::ModelConfig c = nn::model_preset("tiny");
  EngineOptions o;
  o.grad_accum = 4 / micro;
  o.grad_clip = grad_clip;
  o.schedule = schedule;
  FsdpEngine engine(make_cpu_backend(c, false), seed, o, world(), nullptr, nullptr);
  RankSliceSource data(nn::make_synthetic_source(nn::SyntheticKind::pattern, c.vocab_size, 1, 32, seed), micro, 4, 0,
                       1);
  Training r;
  for (int s = 0; s < steps; ++s) r.steps.push_back(engine.step(data, s));
  r.params = engine.full_params();
  return r;
}

// The same training as a plain loop: one batch of 4 sequences per step through nn::Model, then clipping and
// AdamW (torch.optim.AdamW's update, decoupled decay on matrices, fp32 state) written out here.
Training plain_loop(int steps, double grad_clip, const nn::LrSchedule& schedule, std::uint64_t seed = 5) {
  const nn::ModelConfig c = nn::model_preset("tiny");
  const nn::AdamWOptions adamw;
  nn::Model model(c, seed);
  RankSliceSource data(nn::make_synthetic_source(nn::SyntheticKind::pattern, c.vocab_size, 1, 32, seed), 4, 4, 0, 1);
  std::vector<std::vector<float>> m, v;
  for (const nn::ParamUnit& u : model.units()) {
    m.emplace_back(u.params.size(), 0.0f);
    v.emplace_back(u.params.size(), 0.0f);
  }
  Training r;
  nn::TokenBatch batch;
  for (int s = 0; s < steps; ++s) {
    model.zero_grad();
    data.next(batch);
    FsdpStepStats st;
    st.base.loss = model.forward(batch.inputs.data(), batch.targets.data(), batch.B, batch.T);
    model.backward();
    double sq = 0;
    for (const nn::ParamUnit& u : model.units())
      for (float g : u.grads) sq += double(g) * g;
    const double norm = std::sqrt(sq);
    st.base.grad_norm = norm;
    const double coef = grad_clip > 0 && norm > grad_clip ? grad_clip / (norm + 1e-6) : 1.0;
    const double lr = schedule.at(s), t = s + 1;
    for (std::size_t k = 0; k < model.units().size(); ++k) {
      nn::ParamUnit& u = model.units()[k];
      for (const nn::TensorSlot& tensor : u.layout.tensors) {
        const bool decay = tensor.cols > 1;  // matrices; norm weights are vectors
        for (std::size_t i = tensor.offset; i < tensor.offset + tensor.size(); ++i) {
          const double g = u.grads[i] * coef;
          double p = u.params[i];
          if (decay) p *= 1.0 - lr * adamw.weight_decay;
          m[k][i] = float(adamw.beta1 * m[k][i] + (1 - adamw.beta1) * g);
          v[k][i] = float(adamw.beta2 * v[k][i] + (1 - adamw.beta2) * g * g);
          const double m_hat = m[k][i] / (1 - std::pow(adamw.beta1, t)),
                       v_hat = v[k][i] / (1 - std::pow(adamw.beta2, t));
          u.params[i] = float(p - lr * m_hat / (std::sqrt(v_hat) + adamw.eps));
        }
      }
    }
    r.steps.push_back(st);
  }
  for (const nn::ParamUnit& u : model.units()) r.params.insert(r.params.end(), u.params.begin(), u.params.end());
  return r;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += std::pow(double(a[i]) - b[i], 2);
    n += std::pow(double(b[i]), 2);
  }
  return std::sqrt(d / n);
}

TEST(Engine, TrainsAsAPlainLoopWithClippingScheduleAndDecay) {
  // Warm-up, then cosine decay, a clip that binds (tiny's norm starts near 1.5), two micro-batches per step.
  const nn::LrSchedule schedule{2e-3, 2e-4, 2, 6, nn::LrDecay::cosine};
  const double clip = 0.5;
  ASSERT_EQ(train(2, 0, clip, 5, schedule).params, plain_loop(0, clip, schedule).params) << "the same initial weights";
  const Training engine = train(2, 6, clip, 5, schedule), loop = plain_loop(6, clip, schedule);
  for (int s = 0; s < 6; ++s) {
    const StepStats &a = engine.steps[s].base, &b = loop.steps[s].base;
    EXPECT_NEAR(a.loss, b.loss, 1e-5 * b.loss) << "step " << s;
    EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-5 * b.grad_norm) << "step " << s;
    EXPECT_GT(b.grad_norm, clip) << "step " << s << ": the clip must bind for the test to test it";
  }
  EXPECT_LT(rel_l2(engine.params, loop.params), 1e-5);
  const Training unclipped = plain_loop(6, 0.0, schedule);
  EXPECT_GT(rel_l2(unclipped.params, loop.params), 1e-3) << "clipping must change the result";
}

TEST(Engine, AccumulatedMicroBatchesEqualOneBatch) {
  const Training whole = train(4, 3), parts = train(1, 3);
  for (int s = 0; s < 3; ++s) {
    const StepStats &a = whole.steps[s].base, &b = parts.steps[s].base;
    EXPECT_NEAR(b.loss, a.loss, 1e-5 * a.loss) << "step " << s;
    EXPECT_NEAR(b.grad_norm, a.grad_norm, 1e-4 * a.grad_norm) << "step " << s;
  }
  EXPECT_LT(rel_l2(parts.params, whole.params), 1e-5);
}

TEST(Engine, ReportsTheNormBeforeClippingAndClips) {
  const Training free = train(2, 1, /*grad_clip=*/0.0), clipped = train(2, 1, /*grad_clip=*/1e-3);
  EXPECT_EQ(clipped.steps[0].base.grad_norm, free.steps[0].base.grad_norm);
  EXPECT_GT(free.steps[0].base.grad_norm, 1e-2);  // so 1e-3 really clips
  // AdamW's first update is g / (|g| + eps) per element: clipping g to a norm of 1e-3 makes eps matter.
  EXPECT_NE(clipped.params, free.params);
  const Training initial = train(2, 0);
  EXPECT_NE(clipped.params, initial.params);
}

TEST(Engine, ASeedReproducesTheRunBitForBit) {
  const Training a = train(2, 3), b = train(2, 3);
  for (int s = 0; s < 3; ++s) EXPECT_EQ(a.steps[s].base.loss, b.steps[s].base.loss);
  EXPECT_EQ(a.params, b.params);
  EXPECT_NE(train(2, 1, 1.0, /*seed=*/6).steps[0].base.loss, a.steps[0].base.loss);
}

}  // namespace
}  // namespace awsdt::train
