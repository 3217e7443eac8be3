// Finite-difference tests of every Llama layer's backward: the float64 instantiation of each layer is checked
// against central differences (eps 1e-6) of L = Σ out · r for a fixed random r, to a max-norm relative error
// below 1e-6. Gradient buffers start non-zero to check that backward accumulates. A few forward checks pin the
// conventions (RoPE rotate-half, GQA head mapping, cross-entropy value), and float runs are compared to double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cpu/llama_cross_entropy.hpp"
#include "kernels/cpu/llama_embedding.hpp"
#include "kernels/cpu/llama_linear.hpp"
#include "kernels/cpu/llama_residual.hpp"
#include "kernels/cpu/llama_rmsnorm.hpp"
#include "kernels/cpu/llama_rope.hpp"
#include "kernels/cpu/llama_swiglu.hpp"

namespace awsdt::kernels::cpu {
namespace {

using Vec = std::vector<double>;

constexpr double kEps = 1e-6;
constexpr double kTol = 1e-6;
constexpr double kGradInit = 0.25;  // gradients start here; backward must add to it

Vec random_vec(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  Vec v(n);
  for (double& x : v) x = dist(rng);
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Gradient buffer as backward leaves it, minus the initial kGradInit.
Vec accumulated(const Vec& grad) {
  Vec g(grad);
  for (double& x : g) x -= kGradInit;
  return g;
}

// max_i |fd_i − analytic_i| / max_i |analytic_i|, with fd the central difference of loss() in each x_i.
double fd_rel_error(Vec& x, const Vec& analytic, const std::function<double()>& loss) {
  double max_err = 0, max_ref = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + kEps;
    const double plus = loss();
    x[i] = saved - kEps;
    const double minus = loss();
    x[i] = saved;
    const double fd = (plus - minus) / (2 * kEps);
    max_err = std::max(max_err, std::abs(fd - analytic[i]));
    max_ref = std::max(max_ref, std::abs(analytic[i]));
  }
  EXPECT_GT(max_ref, 1e-3) << "gradient too small for the check to mean anything";
  return max_err / max_ref;
}

TEST(NnLayers, EmbeddingBackward) {
  const int N = 6, C = 5, V = 7;
  std::vector<std::int32_t> tokens{3, 1, 3, 6, 0, 3};
  Vec table = random_vec(V * C, 1), r = random_vec(N * C, 2), out(N * C);
  auto loss = [&] {
    embedding_forward(out.data(), tokens.data(), table.data(), N, C, V);
    return dot(out, r);
  };
  loss();
  Vec dtable(V * C, kGradInit);
  embedding_backward(dtable.data(), tokens.data(), r.data(), N, C);
  EXPECT_LT(fd_rel_error(table, accumulated(dtable), loss), kTol);
}

TEST(NnLayers, RmsNormBackward) {
  const int N = 4, C = 8;
  Vec x = random_vec(N * C, 3), w = random_vec(C, 4), r = random_vec(N * C, 5), out(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5);
    return dot(out, r);
  };
  loss();
  Vec dx(N * C, kGradInit), dw(C, kGradInit);
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), N, C);
  EXPECT_LT(fd_rel_error(x, accumulated(dx), loss), kTol);
  EXPECT_LT(fd_rel_error(w, accumulated(dw), loss), kTol);
}

TEST(NnLayers, LinearBackward) {
  const int N = 5, IC = 6, OC = 4;
  Vec x = random_vec(N * IC, 6), w = random_vec(OC * IC, 7), r = random_vec(N * OC, 8), out(N * OC);
  auto loss = [&] {
    linear_forward(out.data(), x.data(), w.data(), N, IC, OC);
    return dot(out, r);
  };
  loss();
  Vec dx(N * IC, kGradInit), dw(OC * IC, kGradInit);
  linear_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), N, IC, OC);
  EXPECT_LT(fd_rel_error(x, accumulated(dx), loss), kTol);
  EXPECT_LT(fd_rel_error(w, accumulated(dw), loss), kTol);
}

TEST(NnLayers, RopeBackward) {
  const int B = 2, T = 5, H = 3, hd = 8;
  auto table = make_rope_table<double>(T, hd, 10000.0);
  Vec x = random_vec(B * T * H * hd, 9), r = random_vec(x.size(), 10), out(x.size());
  auto loss = [&] {
    out = x;
    rope_forward(out.data(), table, B, T, H, hd);
    return dot(out, r);
  };
  loss();
  Vec dx = r;
  rope_backward(dx.data(), table, B, T, H, hd);
  EXPECT_LT(fd_rel_error(x, dx, loss), kTol);
}

TEST(NnLayers, RopeIsRotateHalf) {
  // Hugging Face: out = x·cos + rotate_half(x)·sin, rotate_half(x) = (−x[half:], x[:half]).
  const int T = 4, hd = 8, half = hd / 2, t = 3;
  const double theta = 500000.0;
  auto table = make_rope_table<double>(T, hd, theta);
  Vec x = random_vec(T * hd, 11), out = x;
  rope_forward(out.data(), table, 1, T, 1, hd);
  for (int i = 0; i < half; ++i) {
    const double angle = t / std::pow(theta, 2.0 * i / hd);
    const double* v = x.data() + t * hd;
    EXPECT_NEAR(out[t * hd + i], v[i] * std::cos(angle) - v[i + half] * std::sin(angle), 1e-14);
    EXPECT_NEAR(out[t * hd + i + half], v[i + half] * std::cos(angle) + v[i] * std::sin(angle), 1e-14);
  }
  for (int i = 0; i < hd; ++i) EXPECT_EQ(out[i], x[i]);  // position 0 is not rotated
}

// Attention backward on shape s against finite differences of L = Σ out · r, inputs drawn from seed.
void expect_attention_gradients(const AttentionShape& s, std::uint64_t seed) {
  const std::size_t nq = static_cast<std::size_t>(s.B) * s.T * s.n_heads * s.head_dim,
                    nkv = static_cast<std::size_t>(s.B) * s.T * s.n_kv_heads * s.head_dim;
  Vec q = random_vec(nq, seed), k = random_vec(nkv, seed + 1), v = random_vec(nkv, seed + 2),
      r = random_vec(nq, seed + 3);
  Vec out(nq), att(static_cast<std::size_t>(s.B) * s.n_heads * s.T * s.T);
  auto loss = [&] {
    attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s);
    return dot(out, r);
  };
  loss();
  Vec dq(nq, kGradInit), dk(nkv, kGradInit), dv(nkv, kGradInit);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), q.data(), k.data(), v.data(), att.data(), s);
  EXPECT_LT(fd_rel_error(q, accumulated(dq), loss), kTol);
  EXPECT_LT(fd_rel_error(k, accumulated(dk), loss), kTol);
  EXPECT_LT(fd_rel_error(v, accumulated(dv), loss), kTol);
}

TEST(NnLayers, AttentionBackward) { expect_attention_gradients({2, 5, 4, 2, 4}, 12); }

// Long enough for several row blocks (four of 64 rows, then 4): the blocked GEMMs against a plain
// softmax-weighted sum written here, and the backward against finite differences.
TEST(NnLayers, AttentionAcrossRowBlocks) {
  AttentionShape s{1, 260, 2, 1, 2};
  const std::size_t nq = s.T * s.n_heads * s.head_dim, nkv = s.T * s.n_kv_heads * s.head_dim;
  Vec q = random_vec(nq, 40), k = random_vec(nkv, 41), v = random_vec(nkv, 42);
  Vec out(nq), att(static_cast<std::size_t>(s.n_heads) * s.T * s.T);
  attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s);
  const int hd = s.head_dim;
  for (int h = 0; h < s.n_heads; ++h) {
    for (int t = 0; t < s.T; ++t) {
      Vec w(t + 1);
      double mx = -1e300, sum = 0;
      for (int j = 0; j <= t; ++j) {
        w[j] = 0;
        for (int d = 0; d < hd; ++d) w[j] += q[(t * s.n_heads + h) * hd + d] * k[j * hd + d] / std::sqrt(double(hd));
        mx = std::max(mx, w[j]);
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      for (int d = 0; d < hd; ++d) {
        double expect = 0;
        for (int j = 0; j <= t; ++j) expect += w[j] / sum * v[j * hd + d];
        ASSERT_NEAR(out[(t * s.n_heads + h) * hd + d], expect, 1e-12) << "t " << t << " h " << h;
      }
    }
  }
  expect_attention_gradients(s, 40);
}

TEST(NnLayers, AttentionIsCausalWithGroupedKvHeads) {
  AttentionShape s{1, 3, 4, 2, 2};
  const std::size_t nq = s.T * s.n_heads * s.head_dim, nkv = s.T * s.n_kv_heads * s.head_dim;
  Vec q = random_vec(nq, 16), k = random_vec(nkv, 17), v = random_vec(nkv, 18), out(nq), att(4 * 9);
  attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s);
  // Position 0 sees only itself: query head h returns v of kv head h / 2.
  for (int h = 0; h < s.n_heads; ++h) {
    for (int d = 0; d < s.head_dim; ++d) EXPECT_NEAR(out[h * s.head_dim + d], v[(h / 2) * s.head_dim + d], 1e-15);
  }
  // Changing the last position's k and v leaves earlier outputs alone.
  Vec out2(nq);
  for (std::size_t i = 2 * s.n_kv_heads * s.head_dim; i < nkv; ++i) k[i] += 1.0, v[i] -= 1.0;
  attention_forward(out2.data(), att.data(), q.data(), k.data(), v.data(), s);
  for (int i = 0; i < 2 * s.n_heads * s.head_dim; ++i) EXPECT_EQ(out[i], out2[i]);
}

TEST(NnLayers, SwigluBackward) {
  const std::size_t n = 12;
  Vec gate = random_vec(n, 19, 3.0), up = random_vec(n, 20), r = random_vec(n, 21), out(n);
  auto loss = [&] {
    swiglu_forward(out.data(), gate.data(), up.data(), n);
    return dot(out, r);
  };
  loss();
  Vec dgate(n, kGradInit), dup(n, kGradInit);
  swiglu_backward(dgate.data(), dup.data(), r.data(), gate.data(), up.data(), n);
  EXPECT_LT(fd_rel_error(gate, accumulated(dgate), loss), kTol);
  EXPECT_LT(fd_rel_error(up, accumulated(dup), loss), kTol);
  // Overwriting ignores what the buffers held (NaN here) and writes what accumulating onto zero gives.
  Vec og(n, NAN), ou(n, NAN), zg(n, 0.0), zu(n, 0.0);
  swiglu_backward(og.data(), ou.data(), r.data(), gate.data(), up.data(), n, InputGrad::overwrite);
  swiglu_backward(zg.data(), zu.data(), r.data(), gate.data(), up.data(), n);
  EXPECT_EQ(og, zg);
  EXPECT_EQ(ou, zu);
}

TEST(NnLayers, CrossEntropyBackward) {
  const int N = 5, V = 7;
  std::vector<std::int32_t> targets{2, 0, -100, 6, 2};  // one ignored position
  Vec logits = random_vec(N * V, 25, 2.0), probs(N * V);
  auto loss = [&] { return cross_entropy_forward(probs.data(), logits.data(), targets.data(), N, V); };
  const double value = loss();
  // The value: mean over the 4 counted positions of logsumexp(z) − z[y].
  double expect = 0;
  for (int n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    double se = 0;
    for (int i = 0; i < V; ++i) se += std::exp(logits[n * V + i]);
    expect += std::log(se) - logits[n * V + targets[n]];
  }
  EXPECT_NEAR(value, expect / 4, 1e-14);
  Vec dlogits(N * V, kGradInit);
  cross_entropy_backward(dlogits.data(), probs.data(), targets.data(), N, V, 1.0);
  EXPECT_LT(fd_rel_error(logits, accumulated(dlogits), loss), kTol);
  // Overwriting: the ignored row becomes 0, the others what accumulating onto zero gives; NaN before.
  Vec over(N * V, NAN), onto_zero(N * V, 0.0);
  cross_entropy_backward(over.data(), probs.data(), targets.data(), N, V, 1.0, InputGrad::overwrite);
  cross_entropy_backward(onto_zero.data(), probs.data(), targets.data(), N, V, 1.0);
  EXPECT_EQ(over, onto_zero);
  std::vector<std::int32_t> none(N, -1);  // no target at all: every row 0
  cross_entropy_backward(over.data(), probs.data(), none.data(), N, V, 1.0, InputGrad::overwrite);
  EXPECT_EQ(over, Vec(N * V, 0.0));
}

TEST(NnLayers, CrossEntropyFloatStaysFiniteForLargeLogits) {
  std::vector<float> logits{1000.0f, -1000.0f, 0.0f}, probs(3);
  std::vector<std::int32_t> target{1};
  float loss = cross_entropy_forward(probs.data(), logits.data(), target.data(), 1, 3);
  EXPECT_FLOAT_EQ(loss, 2000.0f);
}

// The float instantiation (cblas_sgemm when built with OpenBLAS) agrees with the double one.
TEST(NnLayers, FloatMatchesDouble) {
  const int N = 6, IC = 16, OC = 12;
  Vec x = random_vec(N * IC, 26), w = random_vec(OC * IC, 27), dy = random_vec(N * OC, 28);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), dyf(dy.begin(), dy.end());
  Vec y(N * OC), dx(N * IC, 0.0), dw(OC * IC, 0.0);
  std::vector<float> yf(N * OC), dxf(N * IC, 0.0f), dwf(OC * IC, 0.0f);
  linear_forward(y.data(), x.data(), w.data(), N, IC, OC);
  linear_forward(yf.data(), xf.data(), wf.data(), N, IC, OC);
  linear_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), N, IC, OC);
  linear_backward(dxf.data(), dwf.data(), dyf.data(), xf.data(), wf.data(), N, IC, OC);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(yf[i], y[i], 1e-5);
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dxf[i], dx[i], 1e-5);
  for (std::size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dwf[i], dw[i], 1e-5);

  AttentionShape s{2, 7, 4, 1, 8};
  const std::size_t nq = s.B * s.T * s.n_heads * s.head_dim, nkv = s.B * s.T * s.n_kv_heads * s.head_dim;
  Vec q = random_vec(nq, 29), k = random_vec(nkv, 30), v = random_vec(nkv, 31), out(nq), att(2 * 4 * 49);
  std::vector<float> qf(q.begin(), q.end()), kf(k.begin(), k.end()), vf(v.begin(), v.end()), outf(nq), attf(att.size());
  attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s);
  attention_forward(outf.data(), attf.data(), qf.data(), kf.data(), vf.data(), s);
  for (std::size_t i = 0; i < nq; ++i) EXPECT_NEAR(outf[i], out[i], 1e-5);
}

}  // namespace
}  // namespace awsdt::kernels::cpu
