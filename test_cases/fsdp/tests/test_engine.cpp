// FsdpEngine on one rank, in process (the CPU backend, a one-rank communicator): micro-batches accumulated over
// a step equal one batch of the same sequences, the reported norm is the one before clipping and clipping
// changes the update, and a seed reproduces a run bit for bit. Multi-rank behaviour is tested under mpirun
// (test_fsdp_mpi.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "comm/registry.hpp"
#include "cpu_backend.hpp"
#include "fsdp_engine.hpp"
#include "nn/config.hpp"
#include "nn/data.hpp"
#include "slice_source.hpp"

namespace awsdt::fsdp {
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

// `steps` steps of tiny on global batches of 4 sequences, in micro-batches of `micro`.
Training train(int micro, int steps, double grad_clip = 1.0, std::uint64_t seed = 5) {
  const nn::ModelConfig c = nn::model_preset("tiny");
  EngineOptions o;
  o.grad_accum = 4 / micro;
  o.grad_clip = grad_clip;
  o.schedule = nn::LrSchedule{1e-3, 1e-4, 0, 10, nn::LrDecay::cosine};
  FsdpEngine engine(make_cpu_backend(c, false), seed, o, world(), nullptr, nullptr);
  RankSliceSource data(nn::make_synthetic_source(nn::SyntheticKind::pattern, c.vocab_size, 1, 32, seed), micro, 4,
                       0, 1);
  Training r;
  for (int s = 0; s < steps; ++s) r.steps.push_back(engine.step(data, s));
  r.params = engine.full_params();
  return r;
}

TEST(Engine, AccumulatedMicroBatchesEqualOneBatch) {
  const Training whole = train(4, 3), parts = train(1, 3);
  for (int s = 0; s < 3; ++s) {
    const StepStats &a = whole.steps[s].base, &b = parts.steps[s].base;
    EXPECT_NEAR(b.loss, a.loss, 1e-5 * a.loss) << "step " << s;
    EXPECT_NEAR(b.grad_norm, a.grad_norm, 1e-4 * a.grad_norm) << "step " << s;
  }
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < whole.params.size(); ++i) {
    diff += std::pow(double(parts.params[i]) - whole.params[i], 2);
    norm += std::pow(double(whole.params[i]), 2);
  }
  EXPECT_LT(std::sqrt(diff / norm), 1e-5);
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
}  // namespace awsdt::fsdp
