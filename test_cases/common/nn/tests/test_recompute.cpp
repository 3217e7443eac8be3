// Tests of activation recomputation: loss and every gradient bit-identical to keeping every block's activations,
// through forward()/backward() and through the per-unit entry points run with only the active unit's params
// present (the others NaN, as under FSDP), and the activation memory it saves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "nn/config.hpp"
#include "nn/model.hpp"
#include "util/error.hpp"

namespace awsdt::nn {
namespace {

constexpr int kB = 2, kT = 24;
constexpr std::uint64_t kSeed = 20240607;

struct Batch {
  std::vector<std::int32_t> tokens, targets;
};

Batch make_batch(int vocab) {
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int> tok(0, vocab - 1);
  Batch b;
  for (int i = 0; i < kB * kT; ++i) b.tokens.push_back(tok(rng)), b.targets.push_back(tok(rng));
  b.targets[3] = -100;  // an ignored position
  return b;
}

// The loss and every unit's gradients after one step.
struct Step {
  float loss = 0;
  std::vector<std::vector<float>> grads;
};

Step collect(Model& m, float loss) {
  Step s{loss, {}};
  for (const ParamUnit& u : m.units()) s.grads.push_back(u.grads);
  return s;
}

Step whole_model_step(const ModelConfig& c, bool recompute, const Batch& b) {
  Model m(c, kSeed);
  m.set_recompute(recompute);
  const float loss = m.forward(b.tokens.data(), b.targets.data(), kB, kT);
  m.backward();
  return collect(m, loss);
}

// Runs fn with the params of every unit outside `present` replaced by NaN (restored afterwards), so any use of
// an absent unit's params poisons the results.
void with_only(Model& m, std::vector<int> present, const std::function<void()>& fn) {
  std::vector<std::vector<float>> saved(m.units().size());
  for (std::size_t u = 0; u < m.units().size(); ++u) {
    if (std::find(present.begin(), present.end(), static_cast<int>(u)) != present.end()) continue;
    saved[u] = m.units()[u].params;
    std::fill(m.units()[u].params.begin(), m.units()[u].params.end(), std::numeric_limits<float>::quiet_NaN());
  }
  fn();
  for (std::size_t u = 0; u < m.units().size(); ++u)
    if (!saved[u].empty()) m.units()[u].params = std::move(saved[u]);
}

Step per_unit_step(const ModelConfig& c, bool recompute, const Batch& b) {
  Model m(c, kSeed);
  m.set_recompute(recompute);
  const int L = c.n_layers, head = L + 1;
  const std::vector<int> head_units = c.tied_embeddings ? std::vector<int>{head, 0} : std::vector<int>{head};
  float loss = 0;
  m.forward_begin(b.tokens.data(), b.targets.data(), kB, kT);
  with_only(m, {0}, [&] { m.forward_embedding(); });
  for (int l = 0; l < L; ++l) with_only(m, {1 + l}, [&] { m.forward_block(l); });
  with_only(m, head_units, [&] { loss = m.forward_head(); });
  with_only(m, head_units, [&] { m.backward_head(); });
  for (int l = L - 1; l >= 0; --l) with_only(m, {1 + l}, [&] { m.backward_block(l); });
  with_only(m, {0}, [&] { m.backward_embedding(); });
  return collect(m, loss);
}

void expect_bitwise_equal(const Step& want, const Step& got, const char* what) {
  EXPECT_TRUE(std::isfinite(want.loss)) << what;
  EXPECT_EQ(std::memcmp(&want.loss, &got.loss, sizeof got.loss), 0) << what << ": " << want.loss << " vs " << got.loss;
  ASSERT_EQ(want.grads.size(), got.grads.size());
  for (std::size_t u = 0; u < want.grads.size(); ++u) {
    ASSERT_EQ(want.grads[u].size(), got.grads[u].size());
    EXPECT_EQ(std::memcmp(want.grads[u].data(), got.grads[u].data(), got.grads[u].size() * sizeof(float)), 0)
        << what << ": unit " << u;
  }
}

void expect_recompute_is_bitwise_identical(const ModelConfig& c) {
  const Batch b = make_batch(c.vocab_size);
  const Step want = whole_model_step(c, false, b);
  expect_bitwise_equal(want, whole_model_step(c, true, b), "forward/backward with recompute");
  expect_bitwise_equal(want, per_unit_step(c, false, b), "per-unit without recompute");
  expect_bitwise_equal(want, per_unit_step(c, true, b), "per-unit with recompute");
}

ModelConfig three_layers_untied() {
  ModelConfig c = model_preset("tiny");
  c.n_layers = 3;
  c.tied_embeddings = false;
  return c;
}

TEST(NnRecompute, TinyIsBitwiseIdentical) { expect_recompute_is_bitwise_identical(model_preset("tiny")); }

TEST(NnRecompute, ThreeLayersUntiedIsBitwiseIdentical) { expect_recompute_is_bitwise_identical(three_layers_untied()); }

TEST(NnRecompute, KeepsOneBlockOfIntermediates) {
  ModelConfig c = model_preset("tiny");
  c.n_layers = 4;
  const Batch b = make_batch(c.vocab_size);
  Model keep(c, kSeed), recompute(c, kSeed);
  recompute.set_recompute(true);
  EXPECT_FALSE(keep.recompute());
  EXPECT_TRUE(recompute.recompute());
  EXPECT_EQ(keep.activation_bytes(), 0);  // nothing is sized before the first forward
  keep.forward(b.tokens.data(), b.targets.data(), kB, kT);
  recompute.forward(b.tokens.data(), b.targets.data(), kB, kT);
  EXPECT_GT(keep.activation_bytes(), 0);
  EXPECT_LE(recompute.activation_bytes(), keep.activation_bytes() * 6 / 10)
      << "keep " << keep.activation_bytes() << " B, recompute " << recompute.activation_bytes() << " B";
  // Switching mode resizes at the next forward.
  recompute.set_recompute(false);
  recompute.forward(b.tokens.data(), b.targets.data(), kB, kT);
  EXPECT_EQ(recompute.activation_bytes(), keep.activation_bytes());
}

TEST(NnRecompute, SwitchingDiscardsTheLastForward) {
  ModelConfig c = model_preset("tiny");
  const Batch b = make_batch(c.vocab_size);
  Model m(c, kSeed);
  m.forward(b.tokens.data(), b.targets.data(), kB, kT);
  m.set_recompute(true);
  EXPECT_THROW(m.backward(), Error);
  m.forward(b.tokens.data(), b.targets.data(), kB, kT);
  EXPECT_NO_THROW(m.backward());
}

}  // namespace
}  // namespace awsdt::nn
