// The CUDA executor of chunked attention (see chunked_attention.hpp and chunked_attention_plan.hpp): the
// schedule's products as cublasGemmBatchedEx over every (batch, query head), with per-(b, h) pointers built on
// the GPU in stream order, and its row passes as one warp per query row.
#include "kernels/cuda/chunked_attention.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/check_cublas.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "kernels/cuda/warp.cuh"
#include "util/error.hpp"
#include "util/half.hpp"

namespace awsdt::kernels::cuda {
namespace {

using chunked::Buf;

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kRowThreads = 256;  // 8 warps, one query row each

// One cuBLAS handle per device for the process's life (creating one costs milliseconds; the driver reclaims it),
// used under its lock: setting its stream and enqueueing a GEMM must not interleave with another thread's.
struct LockedHandle {
  std::unique_lock<std::mutex> lock;
  cublasHandle_t handle;
};

LockedHandle cublas_handle() {
  static std::mutex mutex;
  static std::map<int, cublasHandle_t> handles;
  int device = 0;
  AWSDT_CHECK_CUDA(cudaGetDevice(&device));
  std::unique_lock<std::mutex> lock(mutex);
  cublasHandle_t& h = handles[device];
  if (!h) {
    AWSDT_CHECK_CUBLAS(cublasCreate(&h));
    // bf16 outputs (O, dQ): no split-K partial sums rounded to bf16; the sums stay in fp32 as the compute type.
    AWSDT_CHECK_CUBLAS(
        cublasSetMathMode(h, cublasMath_t(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  }
  return {std::move(lock), h};
}

// An operand's (b, h) matrix address: base + (offset + b·stride_b + (h / head_div)·stride_h) elements.
struct PointerRule {
  char* base;
  std::size_t elem_bytes, offset, stride_b, stride_h;
  int head_div;
  __device__ char* at(int b, int h) const {
    return base + (offset + std::size_t(b) * stride_b + std::size_t(h / head_div) * stride_h) * elem_bytes;
  }
};

__global__ void fill_pointers(void** out, PointerRule a, PointerRule b, PointerRule c, int count, int NH) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  out[i] = a.at(i / NH, i % NH);
  out[count + i] = b.at(i / NH, i % NH);
  out[2 * count + i] = c.at(i / NH, i % NH);
}

__device__ __forceinline__ float bf16_in(Bf16 x) { return __uint_as_float(std::uint32_t(x) << 16); }

// The row passes, one warp per query row. Row i of a launch is query row t = q0 + r of (b, h) = (bh / NH, bh % NH),
// i = bh·rows + r; its scores and probabilities start at (bh·R + r)·ld, its lse and D at bh·T + t.
struct Rows {
  int q0, rows, kn, R, T;
  std::size_t ld;
};

struct Row {
  bool valid;  // warp-uniform: blockDim.x is a multiple of 32
  int lane, t;
  std::size_t at, stat;
};

__device__ Row this_warps_row(const Rows& w, std::size_t total) {
  const std::size_t i = (std::size_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::size_t bh = i / std::size_t(w.rows), r = i % std::size_t(w.rows);
  return {i < total, int(threadIdx.x % kWarp), w.q0 + int(r), (bh * std::size_t(w.R) + r) * w.ld,
          bh * std::size_t(w.T) + std::size_t(w.q0) + r};
}

// P = softmax(scale·S) over keys 0..t (zero for t < j < kn), and lse = log Σ exp(scale·S), in log2 inside.
__global__ void softmax_rows(Bf16* P, float* lse, const float* S, Rows w, std::size_t total, float qk_log2) {
  const Row row = this_warps_row(w, total);
  if (!row.valid) return;
  const int lane = row.lane, t = row.t;
  const std::size_t at = row.at;
  const float* s = S + at;
  float m = -INFINITY;
  for (int j = lane; j <= t; j += kWarp) m = fmaxf(m, s[j] * qk_log2);
  m = warp_max(m);
  float sum = 0.f;
  for (int j = lane; j <= t; j += kWarp) sum += exp2f(s[j] * qk_log2 - m);
  sum = warp_sum(sum);
  const float lse2 = m + log2f(sum);
  if (lane == 0) lse[row.stat] = lse2 * kLn2;
  for (int j = lane; j < w.kn; j += kWarp) P[at + j] = j <= t ? float_to_bf16(exp2f(s[j] * qk_log2 - lse2)) : Bf16(0);
}

// P = exp(scale·S − lse) over keys 0..t, zero after: the forward's probabilities again.
__global__ void probs_rows(Bf16* P, const float* lse, const float* S, Rows w, std::size_t total, float qk_log2) {
  const Row row = this_warps_row(w, total);
  if (!row.valid) return;
  const float lse2 = lse[row.stat] * kLog2e;
  for (int j = row.lane; j < w.kn; j += kWarp)
    P[row.at + j] = j <= row.t ? float_to_bf16(exp2f(S[row.at + j] * qk_log2 - lse2)) : Bf16(0);
}

// dS = scale·P ⊙ (dP − D), over P in place (dP is in the scores buffer).
__global__ void grad_score_rows(Bf16* P, const float* dP, const float* D, Rows w, std::size_t total, float scale) {
  const Row row = this_warps_row(w, total);
  if (!row.valid) return;
  const float d = D[row.stat];
  for (int j = row.lane; j < w.kn; j += kWarp)
    P[row.at + j] = j <= row.t ? float_to_bf16(scale * bf16_in(P[row.at + j]) * (dP[row.at + j] - d)) : Bf16(0);
}

// dk[b, t, kv, :] = Σ_g acc[b, t, kv·G + g, :], to bf16.
__global__ void sum_groups(Bf16* out, const float* acc, std::size_t count, int G, int hd) {
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const std::size_t d = i % std::size_t(hd), row = i / std::size_t(hd);  // row = (b·T + t)·NKV + kv
    const float* from = acc + row * std::size_t(G) * hd + d;
    float sum = 0.f;
    for (int g = 0; g < G; ++g) sum += from[std::size_t(g) * hd];
    out[i] = float_to_bf16(sum);
  }
}

class Executor {
 public:
  Executor(const chunked::AttentionShape& s, void* workspace, cudaStream_t stream, std::size_t budget)
      : s_(s), layout_(chunked_attention_layout(s, budget)), stream_(stream), work_(static_cast<char*>(workspace)) {
    buf_[int(Buf::Scores)] = work_ + layout_.scores;
    buf_[int(Buf::Probs)] = work_ + layout_.probs;
    buf_[int(Buf::dK32)] = work_ + layout_.dk32;
    buf_[int(Buf::dV32)] = work_ + layout_.dv32;
  }
  int rows() const { return layout_.rows; }
  void set(Buf b, const void* p) { buf_[int(b)] = static_cast<char*>(const_cast<void*>(p)); }
  void set_stats(float* lse, const float* D) {
    lse_ = lse;
    D_ = D;
  }

  void gemm(const chunked::Gemm& g) {
    const int count = s_.B * s_.n_heads;
    auto** ptrs = reinterpret_cast<void**>(work_ + layout_.pointers);
    fill_pointers<<<(count + 255) / 256, 256, 0, stream_>>>(ptrs, rule(g.a), rule(g.b), rule(g.c), count, s_.n_heads);
    AWSDT_CHECK_CUDA(cudaGetLastError());
    const LockedHandle locked = cublas_handle();
    cublasHandle_t h = locked.handle;
    AWSDT_CHECK_CUBLAS(cublasSetStream(h, stream_));
    const float alpha = 1.f, beta = g.beta;
    // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: B's matrices go first.
    AWSDT_CHECK_CUBLAS(cublasGemmBatchedEx(
        h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, g.N, g.M, g.K, &alpha,
        ptrs + count, type(g.b.buf), int(g.b.ld), ptrs, type(g.a.buf), int(g.a.ld), &beta, ptrs + 2 * count,
        type(g.c.buf), int(g.c.ld), count, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
  void softmax(int q0, int rows, int kn) {
    launch_rows(q0, rows, kn, [&](unsigned blocks, Rows w, std::size_t total) {
      softmax_rows<<<blocks, kRowThreads, 0, stream_>>>(probs_buf(), lse_, scores_buf(), w, total, qk_log2());
    });
  }
  void probs(int q0, int rows, int kn) {
    launch_rows(q0, rows, kn, [&](unsigned blocks, Rows w, std::size_t total) {
      probs_rows<<<blocks, kRowThreads, 0, stream_>>>(probs_buf(), lse_, scores_buf(), w, total, qk_log2());
    });
  }
  void grad_scores(int q0, int rows, int kn) {
    launch_rows(q0, rows, kn, [&](unsigned blocks, Rows w, std::size_t total) {
      grad_score_rows<<<blocks, kRowThreads, 0, stream_>>>(probs_buf(), scores_buf(), D_, w, total, scale());
    });
  }
  void zero_accumulators() {
    AWSDT_CHECK_CUDA(cudaMemsetAsync(buf_[int(Buf::dK32)], 0, layout_.dv32 - layout_.dk32, stream_));
    AWSDT_CHECK_CUDA(cudaMemsetAsync(buf_[int(Buf::dV32)], 0, layout_.bytes - layout_.dv32, stream_));
  }
  void sum_groups_into(Bf16* dk, Bf16* dv) {
    const std::size_t count = std::size_t(s_.B) * s_.T * s_.n_kv_heads * s_.head_dim;
    const unsigned blocks = unsigned(std::min<std::size_t>((count + 255) / 256, 65535));
    const int G = s_.n_heads / s_.n_kv_heads;
    sum_groups<<<blocks, 256, 0, stream_>>>(dk, reinterpret_cast<const float*>(buf_[int(Buf::dK32)]), count, G,
                                            s_.head_dim);
    sum_groups<<<blocks, 256, 0, stream_>>>(dv, reinterpret_cast<const float*>(buf_[int(Buf::dV32)]), count, G,
                                            s_.head_dim);
    AWSDT_CHECK_CUDA(cudaGetLastError());
  }

 private:
  static cudaDataType type(Buf b) {
    return b == Buf::Scores || b == Buf::dK32 || b == Buf::dV32 ? CUDA_R_32F : CUDA_R_16BF;
  }
  PointerRule rule(const chunked::Operand& x) const {
    return {buf_[int(x.buf)], type(x.buf) == CUDA_R_32F ? 4u : 2u, x.offset, x.stride_b, x.stride_h, x.head_div};
  }
  Bf16* probs_buf() const { return reinterpret_cast<Bf16*>(buf_[int(Buf::Probs)]); }
  float* scores_buf() const { return reinterpret_cast<float*>(buf_[int(Buf::Scores)]); }
  float scale() const { return 1.f / sqrtf(float(s_.head_dim)); }
  float qk_log2() const { return scale() * kLog2e; }
  template <class F>
  void launch_rows(int q0, int rows, int kn, F&& launch) {
    const std::size_t total = std::size_t(s_.B) * s_.n_heads * rows;
    const std::size_t warps_per_block = kRowThreads / kWarp;
    AWSDT_CHECK((total + warps_per_block - 1) / warps_per_block <= 0x7fffffffu,
                "chunked attention: too many rows for one launch");
    launch(unsigned((total + warps_per_block - 1) / warps_per_block),
           Rows{q0, rows, kn, layout_.rows, s_.T, chunked::score_ld(s_)}, total);
    AWSDT_CHECK_CUDA(cudaGetLastError());
  }

  chunked::AttentionShape s_;
  ChunkedAttentionLayout layout_;
  cudaStream_t stream_;
  char* work_;
  char* buf_[10] = {};
  float* lse_ = nullptr;
  const float* D_ = nullptr;
};

// The plan's backward calls sum_groups(); the executor needs the destinations.
struct BackwardExecutor : Executor {
  Bf16 *dk, *dv;
  BackwardExecutor(const chunked::AttentionShape& s, void* workspace, cudaStream_t st, std::size_t budget, Bf16* k_out,
                   Bf16* v_out)
      : Executor(s, workspace, st, budget), dk(k_out), dv(v_out) {}
  void sum_groups() { sum_groups_into(dk, dv); }
};

void check(const chunked::AttentionShape& s) {
  AWSDT_CHECK(s.B >= 0 && s.T >= 0 && s.head_dim > 0,
              "chunked attention: batch " + std::to_string(s.B) + ", sequence length " + std::to_string(s.T) +
                  " and head_dim " + std::to_string(s.head_dim) + " must be non-negative, head_dim positive");
  AWSDT_CHECK(chunked_attention_supports(s), "chunked attention: head_dim " + std::to_string(s.head_dim) +
                                                 " is not a multiple of 8 (use the flash-style kernels)");
  AWSDT_CHECK(s.n_heads > 0 && s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0,
              "chunked attention: n_kv_heads (" + std::to_string(s.n_kv_heads) + ") must divide n_heads (" +
                  std::to_string(s.n_heads) + ")");
}

}  // namespace

void chunked_attention_forward(Bf16* out, float* lse, const Bf16* q, const Bf16* k, const Bf16* v,
                               const chunked::AttentionShape& s, void* workspace, void* stream, std::size_t budget) {
  check(s);
  if (s.B <= 0 || s.T <= 0) return;
  Executor ex(s, workspace, static_cast<cudaStream_t>(stream), budget);
  ex.set(Buf::Q, q);
  ex.set(Buf::K, k);
  ex.set(Buf::V, v);
  ex.set(Buf::O, out);
  ex.set_stats(lse, nullptr);
  chunked::forward(ex, s, ex.rows());
}

void chunked_attention_backward(Bf16* dq, Bf16* dk, Bf16* dv, const Bf16* dout, const Bf16* out, const Bf16* q,
                                const Bf16* k, const Bf16* v, const float* lse, float* scratch,
                                const chunked::AttentionShape& s, void* workspace, void* stream, std::size_t budget) {
  check(s);
  if (s.B <= 0 || s.T <= 0) return;
  attention_output_dot(scratch, dout, out, s, stream);  // D = rowsum(dO ⊙ O), into scratch
  BackwardExecutor ex(s, workspace, static_cast<cudaStream_t>(stream), budget, dk, dv);
  ex.set(Buf::Q, q);
  ex.set(Buf::K, k);
  ex.set(Buf::V, v);
  ex.set(Buf::dO, dout);
  ex.set(Buf::dQ, dq);
  ex.set_stats(const_cast<float*>(lse), scratch);
  chunked::backward(ex, s, ex.rows());
}

}  // namespace awsdt::kernels::cuda
