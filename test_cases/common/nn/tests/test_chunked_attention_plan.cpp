// The chunked attention's schedule (kernels/cuda/chunked_attention_plan.hpp) executed with plain loops in double on
// the CPU, against the CPU attention (kernels/cpu/llama_attention, which stores the whole T×T probabilities): the
// same output, lse and gradients for chunks that do and do not divide T, grouped-query heads and several batches.
// This checks the schedule's offsets, leading dimensions, transposes, masks and chunk bounds; the GPU tests check
// the CUDA executor's kernels and its translation of the products to cuBLAS.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <map>
#include <random>
#include <vector>

#include "kernels/cpu/llama_attention.hpp"
#include "kernels/cuda/chunked_attention_plan.hpp"

using namespace awsdt::kernels;
using chunked::Buf;
using cpu::AttentionShape;

namespace {

// Executes a schedule on host buffers, every element a double: what the CUDA executor does with bf16 and fp32.
struct LoopExecutor {
  AttentionShape s{};
  int R = 1;
  std::map<Buf, std::vector<double>> buf;
  std::vector<double> lse, D;

  double& at(const chunked::Operand& x, int b, int h, int row, int col) {
    return buf[x.buf][x.offset + std::size_t(b) * x.stride_b + std::size_t(h / x.head_div) * x.stride_h +
                      std::size_t(row) * x.ld + std::size_t(col)];
  }
  void gemm(const chunked::Gemm& g) {
    for (int b = 0; b < s.B; ++b)
      for (int h = 0; h < s.n_heads; ++h)
        for (int m = 0; m < g.M; ++m)
          for (int n = 0; n < g.N; ++n) {
            double acc = 0;
            for (int k = 0; k < g.K; ++k)
              acc += (g.trans_a ? at(g.a, b, h, k, m) : at(g.a, b, h, m, k)) *
                     (g.trans_b ? at(g.b, b, h, n, k) : at(g.b, b, h, k, n));
            double& c = at(g.c, b, h, m, n);
            c = g.beta == 0.f ? acc : acc + g.beta * c;  // BLAS: beta 0 does not read C
          }
  }
  // Row r of the chunk at q0 for (b, h), in the Scores or Probs buffer.
  double* row(Buf which, int b, int h, int r) {
    const std::size_t ld = chunked::score_ld(s);
    return buf[which].data() + (std::size_t(b) * s.n_heads + h) * R * ld + std::size_t(r) * ld;
  }
  std::size_t stat(int b, int h, int t) const { return (std::size_t(b) * s.n_heads + h) * s.T + t; }
  double scale() const { return 1.0 / std::sqrt(double(s.head_dim)); }
  template <class F>
  void rows(int q0, int n, F&& f) {
    for (int b = 0; b < s.B; ++b)
      for (int h = 0; h < s.n_heads; ++h)
        for (int r = 0; r < n; ++r) f(b, h, r, q0 + r);
  }
  void softmax(int q0, int n, int kn) {
    rows(q0, n, [&](int b, int h, int r, int t) {
      const double* S = row(Buf::Scores, b, h, r);
      double m = -INFINITY, sum = 0;
      for (int j = 0; j <= t; ++j) m = std::max(m, scale() * S[j]);
      for (int j = 0; j <= t; ++j) sum += std::exp(scale() * S[j] - m);
      lse[stat(b, h, t)] = m + std::log(sum);
      double* P = row(Buf::Probs, b, h, r);
      for (int j = 0; j < kn; ++j) P[j] = j <= t ? std::exp(scale() * S[j] - lse[stat(b, h, t)]) : 0.0;
    });
  }
  void probs(int q0, int n, int kn) {
    rows(q0, n, [&](int b, int h, int r, int t) {
      const double* S = row(Buf::Scores, b, h, r);
      double* P = row(Buf::Probs, b, h, r);
      for (int j = 0; j < kn; ++j) P[j] = j <= t ? std::exp(scale() * S[j] - lse[stat(b, h, t)]) : 0.0;
    });
  }
  void grad_scores(int q0, int n, int kn) {
    rows(q0, n, [&](int b, int h, int r, int t) {
      const double* dP = row(Buf::Scores, b, h, r);
      double* P = row(Buf::Probs, b, h, r);
      for (int j = 0; j < kn; ++j) P[j] = scale() * P[j] * (dP[j] - D[stat(b, h, t)]);
    });
  }
  void zero_accumulators() {
    std::fill(buf[Buf::dK32].begin(), buf[Buf::dK32].end(), 0.0);
    std::fill(buf[Buf::dV32].begin(), buf[Buf::dV32].end(), 0.0);
  }
  std::vector<double> dk, dv;
  void sum_groups() {
    const int G = s.n_heads / s.n_kv_heads, hd = s.head_dim;
    dk.assign(std::size_t(s.B) * s.T * s.n_kv_heads * hd, 0.0);
    dv = dk;
    for (int b = 0; b < s.B; ++b)
      for (int t = 0; t < s.T; ++t)
        for (int h = 0; h < s.n_heads; ++h)
          for (int d = 0; d < hd; ++d) {
            const std::size_t from = ((std::size_t(b) * s.T + t) * s.n_heads + h) * hd + d;
            const std::size_t to = ((std::size_t(b) * s.T + t) * s.n_kv_heads + h / G) * hd + d;
            dk[to] += buf[Buf::dK32][from];
            dv[to] += buf[Buf::dV32][from];
          }
  }
};

void check(const AttentionShape& s, int R) {
  SCOPED_TRACE(testing::Message() << "B=" << s.B << " T=" << s.T << " NH=" << s.n_heads << " NKV=" << s.n_kv_heads
                                  << " hd=" << s.head_dim << " rows/chunk=" << R);
  const std::size_t nq = std::size_t(s.B) * s.T * s.n_heads * s.head_dim;
  const std::size_t nkv = std::size_t(s.B) * s.T * s.n_kv_heads * s.head_dim;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto random = [&](std::size_t n) {
    std::vector<double> v(n);
    for (double& x : v) x = normal(rng);
    return v;
  };
  const std::vector<double> q = random(nq), k = random(nkv), v = random(nkv), dout = random(nq);

  // The reference: the CPU kernels, which store every probability.
  std::vector<double> out(nq), att(std::size_t(s.B) * s.n_heads * s.T * s.T);
  cpu::attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), s);
  std::vector<double> dq(nq, 0.0), dk(nkv, 0.0), dv(nkv, 0.0);
  cpu::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), att.data(), s);

  LoopExecutor ex;
  ex.s = s;
  ex.R = R;
  const std::size_t scores = std::size_t(s.B) * s.n_heads * R * chunked::score_ld(s);
  ex.buf[Buf::Q] = q;
  ex.buf[Buf::K] = k;
  ex.buf[Buf::V] = v;
  ex.buf[Buf::dO] = dout;
  // NaN where the schedule must write before it reads: a read of an unwritten element poisons the result.
  for (Buf b : {Buf::O, Buf::dQ}) ex.buf[b].assign(nq, NAN);
  for (Buf b : {Buf::Scores, Buf::Probs}) ex.buf[b].assign(scores, NAN);
  for (Buf b : {Buf::dK32, Buf::dV32}) ex.buf[b].assign(nq, NAN);
  ex.lse.assign(std::size_t(s.B) * s.n_heads * s.T, NAN);
  chunked::forward(ex, s, R);
  for (std::size_t i = 0; i < nq; ++i) ASSERT_NEAR(ex.buf[Buf::O][i], out[i], 1e-12) << "out " << i;
  // lse against the log of the reference's normalizer, from its probabilities: p_0 = exp(scale·q·k_0 − lse).
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.n_heads; ++h)
      for (int t = 0; t < s.T; ++t) {
        double dot = 0;
        for (int d = 0; d < s.head_dim; ++d)
          dot += q[((std::size_t(b) * s.T + t) * s.n_heads + h) * s.head_dim + d] *
                 k[((std::size_t(b) * s.T) * s.n_kv_heads + h / (s.n_heads / s.n_kv_heads)) * s.head_dim + d];
        const double p0 = att[((std::size_t(b) * s.n_heads + h) * s.T + t) * s.T];
        ASSERT_NEAR(ex.lse[ex.stat(b, h, t)], dot / std::sqrt(double(s.head_dim)) - std::log(p0), 1e-9);
      }

  ex.D.assign(ex.lse.size(), 0.0);
  for (int b = 0; b < s.B; ++b)
    for (int t = 0; t < s.T; ++t)
      for (int h = 0; h < s.n_heads; ++h)
        for (int d = 0; d < s.head_dim; ++d) {
          const std::size_t i = ((std::size_t(b) * s.T + t) * s.n_heads + h) * s.head_dim + d;
          ex.D[ex.stat(b, h, t)] += dout[i] * out[i];
        }
  chunked::backward(ex, s, R);
  for (std::size_t i = 0; i < nq; ++i) ASSERT_NEAR(ex.buf[Buf::dQ][i], dq[i], 1e-10) << "dq " << i;
  for (std::size_t i = 0; i < nkv; ++i) {
    ASSERT_NEAR(ex.dk[i], dk[i], 1e-10) << "dk " << i;
    ASSERT_NEAR(ex.dv[i], dv[i], 1e-10) << "dv " << i;
  }
}

}  // namespace

TEST(ChunkedAttentionPlan, MatchesTheFullAttentionForAnyChunking) {
  check({1, 7, 2, 2, 4}, 7);   // one chunk
  check({2, 13, 4, 2, 8}, 5);  // grouped heads, chunks that do not divide T
  check({2, 16, 6, 2, 3}, 4);  // three heads per kv head, chunks that do
  check({1, 9, 3, 1, 5}, 1);   // one row per chunk, one kv head
}

TEST(ChunkedAttentionPlan, ChunksFitTheBudgetInMultiplesOf64) {
  const AttentionShape s{4, 2048, 32, 8, 64};
  EXPECT_EQ(chunked::chunk_rows(s, std::size_t(1) << 30), 640);                   // 4·32·2048·6 bytes a row: 682 fit
  EXPECT_EQ(chunked::chunk_rows(s, 1), 64);                                       // never below 64
  EXPECT_EQ(chunked::chunk_rows({1, 100, 2, 2, 64}, std::size_t(1) << 30), 100);  // never above T
}
