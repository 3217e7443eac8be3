// Causal GQA attention, one (batch, query head) at a time, every matrix product through gemm(), in row blocks.
#include "kernels/cpu/llama_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels/cpu/llama_gemm.hpp"
#include "util/error.hpp"

namespace awsdt::kernels::cpu {
namespace {

// Pointers to one (batch, query head)'s slices; rows of q/out stride C, rows of k/v stride KV.
struct HeadView {
  std::size_t q_off;    // offset of (b, t=0, h) in q/out
  std::size_t kv_off;   // offset of (b, t=0, kv head) in k/v
  std::size_t att_off;  // offset of the [T,T] block in att
  int C;                // n_heads * head_dim
  int KV;               // n_kv_heads * head_dim
};

HeadView head_view(const AttentionShape& s, int b, int h) {
  AWSDT_CHECK(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, "n_kv_heads must divide n_heads");
  const int group = s.n_heads / s.n_kv_heads;
  HeadView v;
  v.C = s.n_heads * s.head_dim;
  v.KV = s.n_kv_heads * s.head_dim;
  v.q_off = static_cast<std::size_t>(b) * s.T * v.C + static_cast<std::size_t>(h) * s.head_dim;
  v.kv_off = static_cast<std::size_t>(b) * s.T * v.KV + static_cast<std::size_t>(h / group) * s.head_dim;
  v.att_off = (static_cast<std::size_t>(b) * s.n_heads + h) * s.T * s.T;
  return v;
}

// Causal attention needs no scores above the diagonal: rows [begin, end) see keys [0, end). Row blocks of
// kRowBlock skip most of that triangle (a quarter of the square at T = 256, nearly half at long T) while every
// GEMM stays large enough to run at BLAS speed.
constexpr int kRowBlock = 128;

struct RowBlock {
  int begin, end;
  int rows() const { return end - begin; }
  int keys() const { return end; }
};

std::vector<RowBlock> row_blocks(int T) {
  std::vector<RowBlock> blocks;
  for (int b = 0; b < T; b += kRowBlock) blocks.push_back({b, std::min(T, b + kRowBlock)});
  return blocks;
}

}  // namespace

template <typename T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, const AttentionShape& s) {
  const int TT = s.T;
  const T scale = T(1) / std::sqrt(T(s.head_dim));
  for (int b = 0; b < s.B; ++b) {
    for (int h = 0; h < s.n_heads; ++h) {
      HeadView hv = head_view(s, b, h);
      T* P = att + hv.att_off;
      // Scores S = scale · Q Kᵀ, each row block against the keys it may see (what is left above the diagonal
      // inside a block is masked below).
      for (const RowBlock& rb : row_blocks(TT)) {
        gemm(false, true, rb.rows(), rb.keys(), s.head_dim, scale, q + hv.q_off + std::size_t(rb.begin) * hv.C, hv.C,
             k + hv.kv_off, hv.KV, T(0), P + std::size_t(rb.begin) * TT, TT);
      }
#pragma omp parallel for schedule(static, 8)
      for (int t = 0; t < TT; ++t) {
        T* row = P + static_cast<std::size_t>(t) * TT;
        T maxv = row[0];
        for (int t2 = 1; t2 <= t; ++t2) maxv = std::max(maxv, row[t2]);
        T sum = 0;
        for (int t2 = 0; t2 <= t; ++t2) {
          row[t2] = std::exp(row[t2] - maxv);
          sum += row[t2];
        }
        T inv = T(1) / sum;
        for (int t2 = 0; t2 <= t; ++t2) row[t2] *= inv;
        for (int t2 = t + 1; t2 < TT; ++t2) row[t2] = T(0);
      }
      // out_h = P V_h, each row block over the keys it sees.
      for (const RowBlock& rb : row_blocks(TT)) {
        gemm(false, false, rb.rows(), s.head_dim, rb.keys(), T(1), P + std::size_t(rb.begin) * TT, TT,
             v + hv.kv_off, hv.KV, T(0), out + hv.q_off + std::size_t(rb.begin) * hv.C, hv.C);
      }
    }
  }
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* att,
                        const AttentionShape& s) {
  const int TT = s.T;
  const T scale = T(1) / std::sqrt(T(s.head_dim));
  std::vector<T> dP(static_cast<std::size_t>(TT) * TT);
  for (int b = 0; b < s.B; ++b) {
    for (int h = 0; h < s.n_heads; ++h) {
      HeadView hv = head_view(s, b, h);
      const T* P = att + hv.att_off;
      const T* dO = dout + hv.q_off;
      // dP = dO V_hᵀ and dV_h += Pᵀ dO, each row block over the keys it sees.
      for (const RowBlock& rb : row_blocks(TT)) {
        const std::size_t r0 = rb.begin;
        gemm(false, true, rb.rows(), rb.keys(), s.head_dim, T(1), dO + r0 * hv.C, hv.C, v + hv.kv_off, hv.KV, T(0),
             dP.data() + r0 * TT, TT);
        gemm(true, false, rb.keys(), s.head_dim, rb.rows(), T(1), P + r0 * TT, TT, dO + r0 * hv.C, hv.C, T(1),
             dv + hv.kv_off, hv.KV);
      }
      // Softmax backward, row by row: dS = P ⊙ (dP − Σ P ⊙ dP); zero where masked.
#pragma omp parallel for schedule(static, 8)
      for (int t = 0; t < TT; ++t) {
        const T* p = P + static_cast<std::size_t>(t) * TT;
        T* d = dP.data() + static_cast<std::size_t>(t) * TT;
        T dot = 0;
        for (int t2 = 0; t2 <= t; ++t2) dot += p[t2] * d[t2];
        for (int t2 = 0; t2 <= t; ++t2) d[t2] = p[t2] * (d[t2] - dot);
        for (int t2 = t + 1; t2 < TT; ++t2) d[t2] = T(0);
      }
      // dQ_h += scale · dS K_h and dK_h += scale · dSᵀ Q_h, each row block over the keys it sees.
      for (const RowBlock& rb : row_blocks(TT)) {
        const std::size_t r0 = rb.begin;
        gemm(false, false, rb.rows(), s.head_dim, rb.keys(), scale, dP.data() + r0 * TT, TT, k + hv.kv_off, hv.KV,
             T(1), dq + hv.q_off + r0 * hv.C, hv.C);
        gemm(true, false, rb.keys(), s.head_dim, rb.rows(), scale, dP.data() + r0 * TT, TT, q + hv.q_off + r0 * hv.C,
             hv.C, T(1), dk + hv.kv_off, hv.KV);
      }
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*,
                                       const AttentionShape&);
template void attention_forward<double>(double*, double*, const double*, const double*, const double*,
                                        const AttentionShape&);
template void attention_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                        const float*, const float*, const AttentionShape&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, const AttentionShape&);

}  // namespace awsdt::kernels::cpu
