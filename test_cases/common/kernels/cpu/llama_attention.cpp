// Causal GQA attention: heads in parallel, each a sequence of gemm() calls in row blocks around a row softmax.
#include "kernels/cpu/llama_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels/cpu/llama_gemm.hpp"
#include "kernels/cpu/simd_math.hpp"
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

// The callers check the shape first: nothing may throw inside their parallel regions.
void check_shape(const AttentionShape& s) {
  AWSDT_CHECK(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, "n_kv_heads must divide n_heads");
}

HeadView head_view(const AttentionShape& s, int b, int h) {
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
// kRowBlock skip most of that triangle (three eighths of the square at T = 256, nearly half at long T) while
// every GEMM stays large enough to run at BLAS speed (on `small`, 64 rows beat 128 by 8% and 32 by 20%).
constexpr int kRowBlock = 64;

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

// Softmax of one score row over its first `keys` entries, in place; the masked rest is set to zero.
template <typename T>
void softmax_row(T* row, int keys, int width) {
  T maxv = row[0];
#pragma omp simd reduction(max : maxv)
  for (int i = 1; i < keys; ++i) maxv = std::max(maxv, row[i]);
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int i = 0; i < keys; ++i) {
    row[i] = simd_exp(row[i] - maxv);
    sum += row[i];
  }
  const T inv = T(1) / sum;
#pragma omp simd
  for (int i = 0; i < keys; ++i) row[i] *= inv;
  std::fill(row + keys, row + width, T(0));
}

// Softmax backward of one row, in place on d: dS = P ⊙ (dP − Σ P ⊙ dP), zero where masked.
template <typename T>
void softmax_row_backward(T* d, const T* p, int keys, int width) {
  T dot = 0;
#pragma omp simd reduction(+ : dot)
  for (int i = 0; i < keys; ++i) dot += p[i] * d[i];
#pragma omp simd
  for (int i = 0; i < keys; ++i) d[i] = p[i] * (d[i] - dot);
  std::fill(d + keys, d + width, T(0));
}

// One (batch, query head): its score block, softmax and output.
template <typename T>
void head_forward(T* out, T* att, const T* q, const T* k, const T* v, const AttentionShape& s, int b, int h) {
  const int TT = s.T;
  const T scale = T(1) / std::sqrt(T(s.head_dim));
  const HeadView hv = head_view(s, b, h);
  T* P = att + hv.att_off;
  // Scores S = scale · Q Kᵀ, each row block against the keys it may see (what is left above the diagonal inside
  // a block is masked by the softmax).
  for (const RowBlock& rb : row_blocks(TT)) {
    gemm(false, true, rb.rows(), rb.keys(), s.head_dim, scale, q + hv.q_off + std::size_t(rb.begin) * hv.C, hv.C,
         k + hv.kv_off, hv.KV, T(0), P + std::size_t(rb.begin) * TT, TT);
  }
  for (int t = 0; t < TT; ++t) softmax_row(P + static_cast<std::size_t>(t) * TT, t + 1, TT);
  // out_h = P V_h, each row block over the keys it sees.
  for (const RowBlock& rb : row_blocks(TT)) {
    gemm(false, false, rb.rows(), s.head_dim, rb.keys(), T(1), P + std::size_t(rb.begin) * TT, TT, v + hv.kv_off, hv.KV,
         T(0), out + hv.q_off + std::size_t(rb.begin) * hv.C, hv.C);
  }
}

// One (batch, query head)'s backward; dP is a [T, T] scratch.
template <typename T>
void head_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* att,
                   const AttentionShape& s, int b, int h, T* dP) {
  const int TT = s.T;
  const T scale = T(1) / std::sqrt(T(s.head_dim));
  const HeadView hv = head_view(s, b, h);
  const T* P = att + hv.att_off;
  const T* dO = dout + hv.q_off;
  // dP = dO V_hᵀ and dV_h += Pᵀ dO, each row block over the keys it sees.
  for (const RowBlock& rb : row_blocks(TT)) {
    const std::size_t r0 = rb.begin;
    gemm(false, true, rb.rows(), rb.keys(), s.head_dim, T(1), dO + r0 * hv.C, hv.C, v + hv.kv_off, hv.KV, T(0),
         dP + r0 * TT, TT);
    gemm(true, false, rb.keys(), s.head_dim, rb.rows(), T(1), P + r0 * TT, TT, dO + r0 * hv.C, hv.C, T(1),
         dv + hv.kv_off, hv.KV);
  }
  for (int t = 0; t < TT; ++t) {
    softmax_row_backward(dP + static_cast<std::size_t>(t) * TT, P + static_cast<std::size_t>(t) * TT, t + 1, TT);
  }
  // dQ_h += scale · dS K_h and dK_h += scale · dSᵀ Q_h, each row block over the keys it sees.
  for (const RowBlock& rb : row_blocks(TT)) {
    const std::size_t r0 = rb.begin;
    gemm(false, false, rb.rows(), s.head_dim, rb.keys(), scale, dP + r0 * TT, TT, k + hv.kv_off, hv.KV, T(1),
         dq + hv.q_off + r0 * hv.C, hv.C);
    gemm(true, false, rb.keys(), s.head_dim, rb.rows(), scale, dP + r0 * TT, TT, q + hv.q_off + r0 * hv.C, hv.C, T(1),
         dk + hv.kv_off, hv.KV);
  }
}

}  // namespace

// Heads run in parallel, each on one thread with single-threaded GEMMs (OpenBLAS's OpenMP build runs a call
// made inside a parallel region on the calling thread): per-head products are too small to split across threads,
// and one parallel region per call instead of several per head spares the barriers.
template <typename T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, const AttentionShape& s) {
  check_shape(s);
  const int heads = s.B * s.n_heads;
#pragma omp parallel for schedule(dynamic, 1)
  for (int i = 0; i < heads; ++i) head_forward(out, att, q, k, v, s, i / s.n_heads, i % s.n_heads);
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* att,
                        const AttentionShape& s) {
  check_shape(s);
  // The query heads that share a kv head add into the same dk/dv rows, so they stay together on one thread, in
  // order: the sums do not depend on the thread count.
  const int group = s.n_heads / s.n_kv_heads, groups = s.B * s.n_kv_heads;
#pragma omp parallel
  {
    std::vector<T> dP(static_cast<std::size_t>(s.T) * s.T);
#pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < groups; ++i) {
      const int b = i / s.n_kv_heads, kvh = i % s.n_kv_heads;
      for (int h = kvh * group; h < (kvh + 1) * group; ++h)
        head_backward(dq, dk, dv, dout, q, k, v, att, s, b, h, dP.data());
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*, const AttentionShape&);
template void attention_forward<double>(double*, double*, const double*, const double*, const double*,
                                        const AttentionShape&);
template void attention_backward<float>(float*, float*, float*, const float*, const float*, const float*, const float*,
                                        const float*, const AttentionShape&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*, const double*,
                                         const double*, const double*, const AttentionShape&);

}  // namespace awsdt::kernels::cpu
