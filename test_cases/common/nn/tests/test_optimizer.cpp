// AdamW against hand-computed values and an independent float64 re-statement of torch.optim.AdamW's update,
// decay segments (norm weights excluded, shard restriction) and global-norm clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "nn/config.hpp"
#include "nn/layout.hpp"
#include "nn/optimizer.hpp"

namespace awsdt::nn {
namespace {

TEST(AdamW, FirstStepIsSignUpdateAfterDecay) {
  // At t = 1, m̂ = g and v̂ = g², so p1 = p0·(1 - lr·wd) - lr·g/(|g| + eps) ≈ p0·(1 - lr·wd) - lr·sign(g).
  AdamWOptions o{0.9, 0.99, 1e-8, 0.1};
  std::vector<float> p{0.5f, -1.0f, 2.0f, 0.25f};
  std::vector<float> g{0.2f, -3.0f, 0.0f, 1.0f};
  AdamW opt(o, p.size(), {{0, 3, true}, {3, 1, false}});
  opt.step(p, g, 0.01);
  EXPECT_NEAR(p[0], 0.5 * 0.999 - 0.01, 1e-6);
  EXPECT_NEAR(p[1], -1.0 * 0.999 + 0.01, 1e-6);
  EXPECT_NEAR(p[2], 2.0 * 0.999, 1e-6);  // zero gradient: decay only
  EXPECT_NEAR(p[3], 0.25 - 0.01, 1e-6);  // not decayed
  EXPECT_EQ(opt.step_count(), 1);
}

TEST(AdamW, MatchesFloat64ReferenceOverSeveralSteps) {
  const double lr[] = {0.01, 0.02, 0.005, 0.01};
  const double b1 = 0.8, b2 = 0.95, eps = 1e-6, wd = 0.05;
  const int n = 6;
  std::vector<float> p(n);
  std::vector<double> rp(n), rm(n, 0.0), rv(n, 0.0);
  for (int i = 0; i < n; ++i) rp[i] = p[i] = 0.3f * static_cast<float>(i) - 0.7f;
  const std::vector<bool> decays{true, true, false, false, true, true};
  AdamW opt({b1, b2, eps, wd}, n, {{0, 2, true}, {2, 2, false}, {4, 2, true}});
  for (int t = 1; t <= 4; ++t) {
    std::vector<float> g(n);
    for (int i = 0; i < n; ++i) g[i] = static_cast<float>(std::sin(1.3 * i + 0.7 * t));
    opt.step(p, g, lr[t - 1]);
    for (int i = 0; i < n; ++i) {  // torch.optim.AdamW, written out in double
      if (decays[i]) rp[i] -= lr[t - 1] * wd * rp[i];
      rm[i] = b1 * rm[i] + (1 - b1) * g[i];
      rv[i] = b2 * rv[i] + (1 - b2) * static_cast<double>(g[i]) * g[i];
      const double mhat = rm[i] / (1 - std::pow(b1, t)), vhat = rv[i] / (1 - std::pow(b2, t));
      rp[i] -= lr[t - 1] * mhat / (std::sqrt(vhat) + eps);
    }
  }
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(p[i], rp[i], 1e-5 + 1e-5 * std::abs(rp[i])) << "element " << i;
    EXPECT_NEAR(opt.m()[i], rm[i], 1e-6) << "element " << i;
    EXPECT_NEAR(opt.v()[i], rv[i], 1e-6) << "element " << i;
  }
}

TEST(AdamW, GradScaleIsTheUpdateOfTheScaledGradients) {
  // Clipping folded into the update: the same bits as scaling the gradients first and updating with scale 1.
  const std::size_t n = 1000;
  std::vector<float> p1(n), p2(n), g(n), m1(n, 0.01f), m2(n, 0.01f), v1(n, 1e-4f), v2(n, 1e-4f);
  for (std::size_t i = 0; i < n; ++i) {
    p1[i] = p2[i] = 0.001f * static_cast<float>(static_cast<int>(i % 97) - 48);
    g[i] = 0.003f * static_cast<float>(static_cast<int>(i % 31) - 15);
  }
  AdamWScalars s = adamw_scalars(AdamWOptions{}, 1e-3, 3);
  std::vector<float> scaled = g;
  for (float& x : scaled) x *= 0.37f;
  adamw_update(p1.data(), scaled.data(), m1.data(), v1.data(), n, s, true);
  s.grad_scale = 0.37f;
  adamw_update(p2.data(), g.data(), m2.data(), v2.data(), n, s, true);
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
  s.grad_scale = 1.0f;  // and it does change the update
  adamw_update(p2.data(), g.data(), m2.data(), v2.data(), n, s, true);
  adamw_update(p1.data(), scaled.data(), m1.data(), v1.data(), n, s, true);
  EXPECT_NE(p1, p2);
}

TEST(AdamW, RejectsMismatchedSpans) {
  AdamW opt({}, 4, {});
  std::vector<float> p(4), g(3);
  EXPECT_ANY_THROW(opt.step(p, g, 0.1));
}

TEST(DecaySegments, NormWeightsDoNotDecay) {
  const ModelConfig c = model_preset("tiny");
  const UnitLayout block = block_layout(c, 0);
  const auto segs = decay_segments(block);
  std::size_t covered = 0, no_decay = 0;
  for (const auto& s : segs) {
    EXPECT_EQ(s.offset, covered);
    covered += s.size;
    if (!s.decay) no_decay += s.size;
  }
  EXPECT_EQ(covered, block.size);
  EXPECT_EQ(no_decay, 2u * c.dim);  // input_layernorm and post_attention_layernorm
  const auto emb = decay_segments(embedding_layout(c));
  ASSERT_EQ(emb.size(), 1u);
  EXPECT_TRUE(emb[0].decay);  // the embedding is a matrix
  const auto head = decay_segments(head_layout(c));
  ASSERT_EQ(head.size(), 1u);  // tiny is tied: only model.norm.weight
  EXPECT_FALSE(head[0].decay);
}

TEST(DecaySegments, RestrictsToAShard) {
  const ModelConfig c = model_preset("tiny");
  const UnitLayout block = block_layout(c, 0);
  // A shard straddling the end of input_layernorm (size dim) and the start of q_proj.
  const std::size_t begin = c.dim - 10, end = c.dim + 30;
  const auto segs = decay_segments(block, begin, end);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0].offset, 0u);
  EXPECT_EQ(segs[0].size, 10u);
  EXPECT_FALSE(segs[0].decay);
  EXPECT_EQ(segs[1].offset, 10u);
  EXPECT_EQ(segs[1].size, 30u);
  EXPECT_TRUE(segs[1].decay);
}

TEST(ClipGradNorm, ClipsToMaxNormAndReturnsPreClipNorm) {
  std::vector<float> a{3.0f, 0.0f}, b{0.0f, 4.0f};
  std::vector<std::span<float>> spans{a, b};
  EXPECT_NEAR(clip_grad_norm(spans, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(a[0], 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b[1], 4.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(std::sqrt(sum_of_squares(a) + sum_of_squares(b)), 1.0, 1e-6);
}

TEST(ClipGradNorm, LeavesSmallNormsAndDisabledClipAlone) {
  std::vector<float> a{3.0f, 4.0f};
  std::vector<std::span<float>> spans{a};
  EXPECT_NEAR(clip_grad_norm(spans, 10.0), 5.0, 1e-9);
  EXPECT_EQ(a[0], 3.0f);
  EXPECT_NEAR(clip_grad_norm(spans, 0.0), 5.0, 1e-9);
  EXPECT_EQ(a[1], 4.0f);
  EXPECT_EQ(clip_coefficient(5.0, 5.0), 1.0);
}

}  // namespace
}  // namespace awsdt::nn
