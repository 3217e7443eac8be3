// The schedule of chunked attention (kernels/cuda/chunked_attention.hpp), apart from what executes it: which
// matrix products and row passes run, on which blocks of which buffers, for each chunk of query rows. The CUDA
// executor issues them as batched cuBLAS GEMMs and small kernels; a test executes the same schedule with plain
// loops on the CPU against the CPU attention, which checks every offset, leading dimension, transpose and chunk
// bound without a GPU.
//
// Per (batch b, query head h), with G = n_heads / n_kv_heads and kv head h / G, for query rows [q0, q0 + rows)
// and the keys they may see, [0, kn = q0 + rows):
//   forward    S = Q_c·Kᵀ                 (fp32, rows × kn)
//              P = softmax(scale·S) causal, lse saved   (bf16)
//              O_c = P·V
//   backward   S = Q_c·Kᵀ;  P = exp(scale·S − lse) causal
//              dV_h += Pᵀ·dO_c            (fp32, one accumulator per query head: the G heads of a kv head
//              dP = dO_c·Vᵀ                would race on one output inside a batched GEMM)
//              dS = scale·P ⊙ (dP − D)    (D = rowsum(dO ⊙ O), over P in place)
//              dQ_c = dS·K;  dK_h += dSᵀ·Q_c
//   then dK, dV = the sums of each kv head's G accumulators.
// Rows past a row's diagonal are computed and masked to zero: the waste is half a chunk per row.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernels/cpu/llama_attention.hpp"

namespace awsdt::kernels::chunked {

using cpu::AttentionShape;

/// The buffers a schedule names. Q, K, V, O, dO, dQ, dK, dV, Probs: bf16 on the GPU; Scores, dK32, dV32: fp32.
enum class Buf { Q, K, V, O, dO, dQ, Scores, Probs, dK32, dV32 };

/// One operand of a batched row-major product: the (b, h) matrix starts at element
/// offset + b·stride_b + (h / head_div)·stride_h of `buf` and its rows are `ld` elements apart.
struct Operand {
  Buf buf;
  std::size_t offset = 0;
  std::size_t ld = 0;
  std::size_t stride_b = 0, stride_h = 0;
  int head_div = 1;
};

/// C = op(A)·op(B) + beta·C for every (b, h), row-major: op(A) is M×K, op(B) K×N, C M×N.
struct Gemm {
  bool trans_a = false, trans_b = false;
  int M = 0, N = 0, K = 0;
  Operand a, b, c;
  float beta = 0.f;
};

/// Elements between rows of scores and probabilities: T rounded up to a multiple of 8, so that every row starts
/// 16-byte aligned in bf16 (tensor-core GEMMs want it).
inline std::size_t score_ld(const AttentionShape& s) { return (std::size_t(s.T) + 7) / 8 * 8; }

/// Query rows per chunk: as many as fit `budget_bytes` of scores (fp32) and probabilities (bf16) for every (b, h),
/// a multiple of 64 (at least 64), at most T.
inline int chunk_rows(const AttentionShape& s, std::size_t budget_bytes) {
  const std::size_t per_row = std::size_t(s.B) * s.n_heads * score_ld(s) * 6;
  std::size_t rows = per_row ? budget_bytes / per_row : std::size_t(s.T);
  rows = std::max<std::size_t>(64, rows / 64 * 64);
  return int(std::min<std::size_t>(rows, std::size_t(s.T)));
}

/// The operands of one chunk, for chunks of R rows starting at q0.
struct ChunkOperands {
  Operand q, k, v, o, dout, dq, scores, probs, dk32, dv32;

  ChunkOperands(const AttentionShape& s, int R, int q0) {
    const std::size_t T = std::size_t(s.T), hd = std::size_t(s.head_dim);
    const std::size_t row_q = std::size_t(s.n_heads) * hd, row_kv = std::size_t(s.n_kv_heads) * hd;
    const int group = s.n_heads / s.n_kv_heads;
    auto tokens = [&](Buf b) { return Operand{b, std::size_t(q0) * row_q, row_q, T * row_q, hd, 1}; };
    q = tokens(Buf::Q);
    o = tokens(Buf::O);
    dout = tokens(Buf::dO);
    dq = tokens(Buf::dQ);
    k = Operand{Buf::K, 0, row_kv, T * row_kv, hd, group};
    v = Operand{Buf::V, 0, row_kv, T * row_kv, hd, group};
    const std::size_t ld = score_ld(s), block = std::size_t(R) * ld;  // one (b, h)'s rows of scores
    scores = Operand{Buf::Scores, 0, ld, std::size_t(s.n_heads) * block, block, 1};
    probs = Operand{Buf::Probs, 0, ld, std::size_t(s.n_heads) * block, block, 1};
    dk32 = Operand{Buf::dK32, 0, row_q, T * row_q, hd, 1};
    dv32 = Operand{Buf::dV32, 0, row_q, T * row_q, hd, 1};
  }
};

/// Calls f(q0, rows, kn, operands) for each chunk of R query rows.
template <class F>
void for_each_chunk(const AttentionShape& s, int R, F&& f) {
  for (int q0 = 0; q0 < s.T; q0 += R) {
    const int rows = std::min(R, s.T - q0);
    f(q0, rows, q0 + rows, ChunkOperands(s, R, q0));
  }
}

/// Runs the forward on `ex`, which provides gemm(const Gemm&) and softmax(q0, rows, kn) (Scores → Probs, lse).
template <class Executor>
void forward(Executor& ex, const AttentionShape& s, int R) {
  const int hd = s.head_dim;
  for_each_chunk(s, R, [&](int q0, int rows, int kn, const ChunkOperands& x) {
    ex.gemm(Gemm{false, true, rows, kn, hd, x.q, x.k, x.scores, 0.f});
    ex.softmax(q0, rows, kn);
    ex.gemm(Gemm{false, false, rows, hd, kn, x.probs, x.v, x.o, 0.f});
  });
}

/// Runs the backward on `ex`, which also provides zero_accumulators(), probs(q0, rows, kn) (Scores and lse →
/// Probs), grad_scores(q0, rows, kn) (Probs, Scores = dP and D → Probs = dS) and sum_groups() (dK32, dV32 → dK,
/// dV). D = rowsum(dO ⊙ O) must be ready.
template <class Executor>
void backward(Executor& ex, const AttentionShape& s, int R) {
  const int hd = s.head_dim;
  ex.zero_accumulators();
  for_each_chunk(s, R, [&](int q0, int rows, int kn, const ChunkOperands& x) {
    ex.gemm(Gemm{false, true, rows, kn, hd, x.q, x.k, x.scores, 0.f});
    ex.probs(q0, rows, kn);
    ex.gemm(Gemm{true, false, kn, hd, rows, x.probs, x.dout, x.dv32, 1.f});
    ex.gemm(Gemm{false, true, rows, kn, hd, x.dout, x.v, x.scores, 0.f});
    ex.grad_scores(q0, rows, kn);
    ex.gemm(Gemm{false, false, rows, hd, kn, x.probs, x.k, x.dq, 0.f});
    ex.gemm(Gemm{true, false, kn, hd, rows, x.probs, x.q, x.dk32, 1.f});
  });
  ex.sum_groups();
}

}  // namespace awsdt::kernels::chunked
