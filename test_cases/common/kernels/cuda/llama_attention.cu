// CUDA causal grouped-query attention (see llama_attention.hpp): flash-attention style, bf16 in and out, fp32
// math, scores never stored.
//
// Every kernel works on tiles staged in shared memory and splits a warp's work the same way:
//  * scoring: lane j of a warp takes one key (forward, dq) or one query (dk/dv) of a 32-wide tile and computes
//    its full dot product against each of the warp's R rows, which it reads from shared memory as broadcasts.
//    One warp thus scores R×32 pairs per pass with no shuffle inside the dot product;
//  * accumulation: lane l owns the output channels l, l + 32, ... of the warp's R rows, kept in registers, and
//    adds probability-weighted rows of the tile (the probabilities go through a small per-warp buffer).
// The head size is padded to HDP ∈ {32, 64, 128, 256} (template), the tiles zero-filled past head_dim and past T,
// so any head_dim ≤ 256 works and padded channels add exact zeros.
//
// Scores are kept in the log2 domain (q pre-multiplied by scale·log2(e)) so that exp2f does the exponentials;
// lse is stored in natural-log units as the header promises.
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/llama_attention.hpp"
#include "kernels/cuda/warp.cuh"
#include "util/error.hpp"
#include "util/half.hpp"

namespace awsdt::kernels::cuda {
namespace {

// Keys per tile in the forward and dq kernels, queries per tile in the dk/dv kernel: one per lane when scoring.
constexpr int kTile = 32;
constexpr float kLog2e = 1.4426950408889634f;
// Static shared memory a block may use without opting in to more.
constexpr int kMaxStaticShared = 48 * 1024;

// Warps per block and rows per warp (query rows in the forward and dq kernels, key rows in the dk/dv kernel).
// Chosen so that a warp's accumulators stay around 32 registers per lane and the block's tiles fit in 48 KiB of
// static shared memory (checked by static_asserts in the kernels); hd = 256 gets small blocks, as it is rare.
template <int HDP>
struct ForwardTiling {
  static constexpr int warps = HDP == 256 ? 2 : 4;
  static constexpr int rows = HDP <= 64 ? 16 : HDP == 128 ? 8 : 4;
};
template <int HDP>
struct BackwardTiling {
  static constexpr int warps = HDP == 256 ? 2 : 4;
  static constexpr int rows = HDP == 32 ? 16 : HDP == 64 ? 8 : HDP == 128 ? 4 : 2;
};

__device__ __forceinline__ float to_float(Bf16 x) { return __uint_as_float(std::uint32_t(x) << 16); }
// The two bf16 of a 32-bit word of a Bf16 array (little endian: the element at the lower address is the low half).
__device__ __forceinline__ float low_bf16(std::uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float high_bf16(std::uint32_t w) { return __uint_as_float(w & 0xffff0000u); }

// Copies rows [t0, t0 + ROWS) of one head into dst (row stride STRIDE floats), times mul. src points at that
// head's channel 0 at t = 0 and rows are row_stride elements apart ([T, H, hd] layout: row_stride = H·hd).
// Zero past T and past hd, so that padding contributes nothing (and never NaN from stale shared memory).
// acc[r][i] += Σ_j w[r][j] · x[j][lane + kWarp·i] over the kTile rows of a bf16 tile x (each lane its NI
// channels), four rows at a time; w holds R rows of kTile fp32 weights. The same summation order for every caller.
template <int R, int NI, int KS>
__device__ __forceinline__ void add_weighted_rows(float (&acc)[R][NI], const float (*w)[kTile], const Bf16 (*x)[KS],
                                                  int lane) {
#pragma unroll 2
  for (int j4 = 0; j4 < kTile; j4 += 4) {
    float xx[4][NI];
#pragma unroll
    for (int jj = 0; jj < 4; ++jj)
#pragma unroll
      for (int i = 0; i < NI; ++i) xx[jj][i] = to_float(x[j4 + jj][lane + kWarp * i]);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float4 wv = *reinterpret_cast<const float4*>(&w[r][j4]);
#pragma unroll
      for (int i = 0; i < NI; ++i) {
        acc[r][i] += wv.x * xx[0][i];
        acc[r][i] += wv.y * xx[1][i];
        acc[r][i] += wv.z * xx[2][i];
        acc[r][i] += wv.w * xx[3][i];
      }
    }
  }
}

// Two dot products per row over the head dimension, as both backward kernels need them: for rows r < R of two
// fp32 tiles (rows base + r of a and b), s[r] += a_row·x and dp[r] += b_row·y, where x and y are one lane's bf16
// rows (as pairs packed in 32-bit words). Products are summed in the same order for every caller.
template <int R, int HDP>
__device__ __forceinline__ void two_row_dots(float (&s)[R], float (&dp)[R], const float (*a)[HDP],
                                             const float (*b)[HDP], int base, const Bf16* x, const Bf16* y) {
#pragma unroll
  for (int r = 0; r < R; ++r) s[r] = dp[r] = 0.f;
  const std::uint32_t* xrow = reinterpret_cast<const std::uint32_t*>(x);
  const std::uint32_t* yrow = reinterpret_cast<const std::uint32_t*>(y);
#pragma unroll 2
  for (int d4 = 0; d4 < HDP / 4; ++d4) {
    const std::uint32_t xw0 = xrow[2 * d4], xw1 = xrow[2 * d4 + 1];
    const std::uint32_t yw0 = yrow[2 * d4], yw1 = yrow[2 * d4 + 1];
    const float x0 = low_bf16(xw0), x1 = high_bf16(xw0), x2 = low_bf16(xw1), x3 = high_bf16(xw1);
    const float y0 = low_bf16(yw0), y1 = high_bf16(yw0), y2 = low_bf16(yw1), y3 = high_bf16(yw1);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float4 av = *reinterpret_cast<const float4*>(&a[base + r][4 * d4]);
      const float4 bv = *reinterpret_cast<const float4*>(&b[base + r][4 * d4]);
      s[r] += av.x * x0;
      s[r] += av.y * x1;
      s[r] += av.z * x2;
      s[r] += av.w * x3;
      dp[r] += bv.x * y0;
      dp[r] += bv.y * y1;
      dp[r] += bv.z * y2;
      dp[r] += bv.w * y3;
    }
  }
}

template <int ROWS, int HDP, int STRIDE, int THREADS>
__device__ void load_rows_f32(float* dst, const Bf16* src, int t0, int T, int row_stride, int hd, float mul) {
  for (int i = threadIdx.x; i < ROWS * HDP; i += THREADS) {
    const int r = i / HDP, d = i % HDP, t = t0 + r;
    dst[r * STRIDE + d] = (t < T && d < hd) ? to_float(src[std::size_t(t) * row_stride + d]) * mul : 0.f;
  }
}
// The same, keeping bf16 (exact: the inputs are bf16).
template <int ROWS, int HDP, int STRIDE, int THREADS>
__device__ void load_rows_bf16(Bf16* dst, const Bf16* src, int t0, int T, int row_stride, int hd) {
  for (int i = threadIdx.x; i < ROWS * HDP; i += THREADS) {
    const int r = i / HDP, d = i % HDP, t = t0 + r;
    dst[r * STRIDE + d] = (t < T && d < hd) ? src[std::size_t(t) * row_stride + d] : Bf16(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Forward. Block: W warps on BR = W·R consecutive query rows of one (batch, query head); grid (query tiles, B·NH).
// The block walks the key tiles up to its last row (causal: later tiles are never loaded); each warp keeps an
// online softmax (running max m, running sum l, rescaled accumulator) for each of its R rows.
template <int HDP, int W, int R>
__global__ void __launch_bounds__(W* kWarp)
    forward_kernel(Bf16* out, float* lse, const Bf16* q, const Bf16* k, const Bf16* v, int T, int NH, int NKV, int hd,
                   float qk_scale) {
  constexpr int BR = W * R;
  constexpr int THREADS = W * kWarp;
  // K and V rows padded by one 32-bit word: lane j reading word d of row j hits bank (j + d) mod 32 (HDP ≥ 64)
  // or j·17 + d mod 32 (HDP = 32), conflict-free either way.
  constexpr int KS = HDP + 2;
  constexpr int NI = HDP / kWarp;  // output channels per lane
  static_assert(BR * HDP * 4 + 2 * kTile * KS * 2 + W * R * kTile * 4 <= kMaxStaticShared, "shared memory");
  __shared__ __align__(16) float q_s[BR][HDP];
  __shared__ __align__(16) Bf16 k_s[kTile][KS];
  __shared__ __align__(16) Bf16 v_s[kTile][KS];
  __shared__ __align__(16) float p_s[W][R][kTile];

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  // Blocks nearer the end of the sequence see more keys: launch them first so the long ones do not trail.
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BR;
  const int b = blockIdx.y / NH, h = blockIdx.y % NH, g = h / (NH / NKV);
  const int C = NH * hd, KVC = NKV * hd;
  const Bf16* qh = q + (std::size_t(b) * T * NH + h) * hd;
  const Bf16* kh = k + (std::size_t(b) * T * NKV + g) * hd;
  const Bf16* vh = v + (std::size_t(b) * T * NKV + g) * hd;

  load_rows_f32<BR, HDP, HDP, THREADS>(&q_s[0][0], qh, q0, T, C, hd, qk_scale);

  const int row0 = q0 + warp * R;  // this warp's first query row
  float m[R], l[R], acc[R][NI];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;  // this lane's share of the row sum; the lanes' shares are added at the end
#pragma unroll
    for (int i = 0; i < NI; ++i) acc[r][i] = 0.f;
  }

  const int kv_end = min(q0 + BR, T);
  for (int kv0 = 0; kv0 < kv_end; kv0 += kTile) {
    __syncthreads();  // every warp is done with the previous tile (and q_s is complete, the first time)
    load_rows_bf16<kTile, HDP, KS, THREADS>(&k_s[0][0], kh, kv0, T, KVC, hd);
    load_rows_bf16<kTile, HDP, KS, THREADS>(&v_s[0][0], vh, kv0, T, KVC, hd);
    __syncthreads();
    // Warp-uniform skip: all of this warp's rows are padding, or all come before the tile's first key. Tile 0 is
    // never skipped by a warp with real rows, so m is finite after it (key 0 is visible to every row).
    if (row0 >= T || kv0 > row0 + R - 1) continue;

    // Scores of key kv0 + lane against the warp's rows (log2 domain: q_s carries scale·log2 e).
    float s[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = 0.f;
    const std::uint32_t* krow = reinterpret_cast<const std::uint32_t*>(&k_s[lane][0]);
#pragma unroll 4
    for (int d4 = 0; d4 < HDP / 4; ++d4) {
      const std::uint32_t w0 = krow[2 * d4], w1 = krow[2 * d4 + 1];
      const float k0 = low_bf16(w0), k1 = high_bf16(w0), k2 = low_bf16(w1), k3 = high_bf16(w1);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(&q_s[warp * R + r][4 * d4]);
        s[r] += qv.x * k0;
        s[r] += qv.y * k1;
        s[r] += qv.z * k2;
        s[r] += qv.w * k3;
      }
    }

    // Online softmax: fold the tile's max into m, rescale what was summed under the old max.
    const int j = kv0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int t = row0 + r;
      const float sc = (j <= t && j < T) ? s[r] : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(sc));
      const float alpha = exp2f(m[r] - m_new);  // 0 on the first tile (m = −inf, m_new finite)
      const float p = exp2f(sc - m_new);        // 0 where masked
      l[r] = l[r] * alpha + p;
#pragma unroll
      for (int i = 0; i < NI; ++i) acc[r][i] *= alpha;
      m[r] = m_new;
      p_s[warp][r][lane] = p;
    }
    __syncwarp();  // p_s written by every lane before any lane reads it

    // acc += P · V over the tile's keys, four at a time (one float4 of probabilities per row).
    add_weighted_rows<R, NI, KS>(acc, p_s[warp], v_s, lane);
    __syncwarp();  // every lane has read p_s before the next tile rewrites it
  }

  if (row0 >= T) return;  // no block-wide barrier follows
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int t = row0 + r;  // warp-uniform, so every lane takes part in the shuffles below or none does
    if (t >= T) break;
    const float sum = warp_sum(l[r]);
    const float inv = 1.f / sum;
    Bf16* orow = out + ((std::size_t(b) * T + t) * NH + h) * hd;
#pragma unroll
    for (int i = 0; i < NI; ++i) {
      const int d = lane + kWarp * i;
      if (d < hd) orow[d] = float_to_bf16(acc[r][i] * inv);
    }
    if (lane == 0) lse[(std::size_t(b) * NH + h) * T + t] = (m[r] + log2f(sum)) / kLog2e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward step 1: D[b, h, t] = Σ_d dout·out, one warp per (b, t, h) row.
__global__ void row_dot_kernel(float* D, const Bf16* dout, const Bf16* out, std::size_t rows, int T, int NH, int hd) {
  const std::size_t row = (std::size_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;  // (b·T + t)·NH + h
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;  // warp-uniform: blockDim.x is a multiple of 32
  float acc = 0.f;
  for (int d = lane; d < hd; d += kWarp) acc += to_float(dout[row * hd + d]) * to_float(out[row * hd + d]);
  acc = warp_sum(acc);
  if (lane == 0) {
    const std::size_t bt = row / NH;
    const std::size_t b = bt / T, t = bt % T, h = row % NH;
    D[(b * NH + h) * T + t] = acc;
  }
}

// Backward step 2: dq. Same blocks as the forward (BR query rows of one (batch, query head)), walking the key tiles
// up to the block's last row. For key j = kv0 + lane and each row t: p = exp(s − lse), dp = dout_t·v_j,
// ds = p·(dp − D_t); then dq_t += ds·k_j over the tile, with lanes owning channels as in the forward.
template <int HDP, int W, int R>
__global__ void __launch_bounds__(W* kWarp)
    dq_kernel(Bf16* dq, const Bf16* dout, const Bf16* q, const Bf16* k, const Bf16* v, const float* lse, const float* D,
              int T, int NH, int NKV, int hd, float qk_scale, float scale) {
  constexpr int BR = W * R;
  constexpr int THREADS = W * kWarp;
  constexpr int KS = HDP + 2;  // padded as in the forward; rows are also read whole, channel by lane
  constexpr int NI = HDP / kWarp;
  static_assert(2 * BR * HDP * 4 + 2 * kTile * KS * 2 + W * R * kTile * 4 <= kMaxStaticShared, "shared memory");
  __shared__ __align__(16) float q_s[BR][HDP];
  __shared__ __align__(16) float do_s[BR][HDP];
  __shared__ __align__(16) Bf16 k_s[kTile][KS];
  __shared__ __align__(16) Bf16 v_s[kTile][KS];
  __shared__ __align__(16) float ds_s[W][R][kTile];

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * BR;  // longest blocks first, as in the forward
  const int b = blockIdx.y / NH, h = blockIdx.y % NH, g = h / (NH / NKV);
  const int C = NH * hd, KVC = NKV * hd;
  const std::size_t q_off = (std::size_t(b) * T * NH + h) * hd;
  const Bf16* kh = k + (std::size_t(b) * T * NKV + g) * hd;
  const Bf16* vh = v + (std::size_t(b) * T * NKV + g) * hd;
  const float* lse_h = lse + (std::size_t(b) * NH + h) * T;
  const float* D_h = D + (std::size_t(b) * NH + h) * T;

  load_rows_f32<BR, HDP, HDP, THREADS>(&q_s[0][0], q + q_off, q0, T, C, hd, qk_scale);
  load_rows_f32<BR, HDP, HDP, THREADS>(&do_s[0][0], dout + q_off, q0, T, C, hd, 1.f);

  const int row0 = q0 + warp * R;
  float lse2[R], Dr[R], acc[R][NI];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int t = row0 + r;
    lse2[r] = t < T ? lse_h[t] * kLog2e : 0.f;  // log2 domain, like the scores
    Dr[r] = t < T ? D_h[t] : 0.f;
#pragma unroll
    for (int i = 0; i < NI; ++i) acc[r][i] = 0.f;
  }

  const int kv_end = min(q0 + BR, T);
  for (int kv0 = 0; kv0 < kv_end; kv0 += kTile) {
    __syncthreads();  // previous tile consumed (and q_s, do_s complete, the first time)
    load_rows_bf16<kTile, HDP, KS, THREADS>(&k_s[0][0], kh, kv0, T, KVC, hd);
    load_rows_bf16<kTile, HDP, KS, THREADS>(&v_s[0][0], vh, kv0, T, KVC, hd);
    __syncthreads();
    if (row0 >= T || kv0 > row0 + R - 1) continue;  // warp-uniform, as in the forward

    // s = q_t·k_j (log2 domain) and dp = dout_t·v_j for key j = kv0 + lane.
    float s[R], dp[R];
    two_row_dots<R, HDP>(s, dp, q_s, do_s, warp * R, &k_s[lane][0], &v_s[lane][0]);
    const int j = kv0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int t = row0 + r;
      const float p = (j <= t && t < T) ? exp2f(s[r] - lse2[r]) : 0.f;  // j ≤ t < T implies j < T
      ds_s[warp][r][lane] = p * (dp[r] - Dr[r]);
    }
    __syncwarp();

    // dq_t += Σ_j ds_tj · k_j.
    add_weighted_rows<R, NI, KS>(acc, ds_s[warp], k_s, lane);
    __syncwarp();  // ds_s read by every lane before the next tile rewrites it
  }

  if (row0 >= T) return;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int t = row0 + r;
    if (t >= T) break;
    Bf16* row = dq + q_off + std::size_t(t) * C;
#pragma unroll
    for (int i = 0; i < NI; ++i) {
      const int d = lane + kWarp * i;
      if (d < hd) row[d] = float_to_bf16(acc[r][i] * scale);  // ∂s/∂q = scale·k
    }
  }
}

// Backward step 3: dk and dv. Block: W warps on BK = W·R consecutive key rows of one (batch, kv head); grid
// (key tiles, B·NKV). The block walks every query head of the group and, for each, the 32-query tiles from the
// one holding its first key to the end (causal: earlier queries do not see these keys). Lane i takes query
// t0 + i when scoring; lanes own channels of the warp's key rows when accumulating dv += p·dout_t and
// dk += ds·q_t. Each block owns its rows of dk and dv outright, so no atomics are needed.
template <int HDP, int W, int R>
__global__ void __launch_bounds__(W* kWarp)
    dkdv_kernel(Bf16* dk, Bf16* dv, const Bf16* dout, const Bf16* q, const Bf16* k, const Bf16* v, const float* lse,
                const float* D, int T, int NH, int NKV, int hd, float qk_scale, float scale) {
  constexpr int BK = W * R;
  constexpr int THREADS = W * kWarp;
  constexpr int KS = HDP + 2;
  constexpr int NI = HDP / kWarp;
  static_assert(2 * BK * HDP * 4 + 2 * kTile * KS * 2 + 2 * W * R * kTile * 4 + 2 * kTile * 4 <= kMaxStaticShared,
                "shared memory");
  __shared__ __align__(16) float k_s[BK][HDP];  // times scale·log2 e
  __shared__ __align__(16) float v_s[BK][HDP];
  __shared__ __align__(16) Bf16 q_s[kTile][KS];
  __shared__ __align__(16) Bf16 do_s[kTile][KS];
  __shared__ float lse_s[kTile];  // log2 domain
  __shared__ float D_s[kTile];
  __shared__ __align__(16) float p_s[W][R][kTile];
  __shared__ __align__(16) float ds_s[W][R][kTile];

  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int k0 = blockIdx.x * BK;  // the first key tiles see the most queries and are launched first
  const int b = blockIdx.y / NKV, g = blockIdx.y % NKV, group = NH / NKV;
  const int C = NH * hd, KVC = NKV * hd;
  const std::size_t kv_off = (std::size_t(b) * T * NKV + g) * hd;

  load_rows_f32<BK, HDP, HDP, THREADS>(&k_s[0][0], k + kv_off, k0, T, KVC, hd, qk_scale);
  load_rows_f32<BK, HDP, HDP, THREADS>(&v_s[0][0], v + kv_off, k0, T, KVC, hd, 1.f);

  const int key0 = k0 + warp * R;  // this warp's first key row
  float dk_acc[R][NI], dv_acc[R][NI];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int i = 0; i < NI; ++i) dk_acc[r][i] = dv_acc[r][i] = 0.f;

  for (int hh = 0; hh < group; ++hh) {
    const int h = g * group + hh;  // query heads h with h / group == g read this kv head
    const std::size_t q_off = (std::size_t(b) * T * NH + h) * hd;
    const float* lse_h = lse + (std::size_t(b) * NH + h) * T;
    const float* D_h = D + (std::size_t(b) * NH + h) * T;
    for (int t0 = k0 / kTile * kTile; t0 < T; t0 += kTile) {
      __syncthreads();  // previous query tile consumed (and k_s, v_s complete, the first time)
      load_rows_bf16<kTile, HDP, KS, THREADS>(&q_s[0][0], q + q_off, t0, T, C, hd);
      load_rows_bf16<kTile, HDP, KS, THREADS>(&do_s[0][0], dout + q_off, t0, T, C, hd);
      if (threadIdx.x < kTile) {
        const int t = t0 + threadIdx.x;
        lse_s[threadIdx.x] = t < T ? lse_h[t] * kLog2e : 0.f;
        D_s[threadIdx.x] = t < T ? D_h[t] : 0.f;
      }
      __syncthreads();
      // Warp-uniform skip: this warp's keys are all padding, or every query of the tile precedes all of them.
      if (key0 >= T || t0 + kTile - 1 < key0) continue;

      // s = q_t·k_c (log2 domain) and dp = dout_t·v_c for query t = t0 + lane and the warp's keys c.
      float s[R], dp[R];
      two_row_dots<R, HDP>(s, dp, k_s, v_s, warp * R, &q_s[lane][0], &do_s[lane][0]);
      const int t = t0 + lane;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int c = key0 + r;
        const float p = (c <= t && t < T) ? exp2f(s[r] - lse_s[lane]) : 0.f;
        p_s[warp][r][lane] = p;
        ds_s[warp][r][lane] = p * (dp[r] - D_s[lane]);
      }
      __syncwarp();

      // dv_c += Σ_t p_tc · dout_t and dk_c += Σ_t ds_tc · q_t.
#pragma unroll 2
      for (int i4 = 0; i4 < kTile; i4 += 4) {
        float qq[4][NI], oo[4][NI];
#pragma unroll
        for (int ii = 0; ii < 4; ++ii)
#pragma unroll
          for (int i = 0; i < NI; ++i) {
            qq[ii][i] = to_float(q_s[i4 + ii][lane + kWarp * i]);
            oo[ii][i] = to_float(do_s[i4 + ii][lane + kWarp * i]);
          }
#pragma unroll
        for (int r = 0; r < R; ++r) {
          const float4 p = *reinterpret_cast<const float4*>(&p_s[warp][r][i4]);
          const float4 ds = *reinterpret_cast<const float4*>(&ds_s[warp][r][i4]);
#pragma unroll
          for (int i = 0; i < NI; ++i) {
            dv_acc[r][i] += p.x * oo[0][i];
            dv_acc[r][i] += p.y * oo[1][i];
            dv_acc[r][i] += p.z * oo[2][i];
            dv_acc[r][i] += p.w * oo[3][i];
            dk_acc[r][i] += ds.x * qq[0][i];
            dk_acc[r][i] += ds.y * qq[1][i];
            dk_acc[r][i] += ds.z * qq[2][i];
            dk_acc[r][i] += ds.w * qq[3][i];
          }
        }
      }
      __syncwarp();  // p_s and ds_s read by every lane before the next tile rewrites them
    }
  }

  if (key0 >= T) return;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int c = key0 + r;
    if (c >= T) break;
    Bf16* dk_row = dk + kv_off + std::size_t(c) * KVC;
    Bf16* dv_row = dv + kv_off + std::size_t(c) * KVC;
#pragma unroll
    for (int i = 0; i < NI; ++i) {
      const int d = lane + kWarp * i;
      if (d < hd) {
        dk_row[d] = float_to_bf16(dk_acc[r][i] * scale);  // ∂s/∂k = scale·q
        dv_row[d] = float_to_bf16(dv_acc[r][i]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Host side.

constexpr int kMaxGridY = 65535;

// Throws a clear awsdt::Error for shapes the kernels do not handle; returns false when there is nothing to do.
bool check_shape(const AttentionShape& s) {
  AWSDT_CHECK(s.B >= 0 && s.T >= 0, "attention (CUDA): negative batch (" + std::to_string(s.B) +
                                        ") or sequence length (" + std::to_string(s.T) + ")");
  AWSDT_CHECK(s.n_heads > 0 && s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0,
              "attention (CUDA): n_kv_heads (" + std::to_string(s.n_kv_heads) + ") must divide n_heads (" +
                  std::to_string(s.n_heads) + ")");
  AWSDT_CHECK(s.head_dim >= 1 && s.head_dim <= 256,
              "attention (CUDA): head_dim " + std::to_string(s.head_dim) + " is not supported (1 to 256)");
  AWSDT_CHECK(std::int64_t(s.B) * s.n_heads <= kMaxGridY,
              "attention (CUDA): batch × n_heads = " + std::to_string(std::int64_t(s.B) * s.n_heads) +
                  " exceeds the grid limit of " + std::to_string(kMaxGridY));
  return s.B > 0 && s.T > 0;
}

// Calls f.template operator()<HDP>() with head_dim padded to the next supported tile width.
template <class F>
void with_padded_head_dim(int hd, F&& f) {
  if (hd <= 32)
    f.template operator()<32>();
  else if (hd <= 64)
    f.template operator()<64>();
  else if (hd <= 128)
    f.template operator()<128>();
  else
    f.template operator()<256>();
}

unsigned blocks_for(int n, int per_block) { return unsigned((n + per_block - 1) / per_block); }

}  // namespace

void attention_forward(Bf16* out, float* lse, const Bf16* q, const Bf16* k, const Bf16* v, const AttentionShape& s,
                       void* stream) {
  if (!check_shape(s)) return;
  auto st = static_cast<cudaStream_t>(stream);
  const float qk_scale = kLog2e / std::sqrt(float(s.head_dim));
  with_padded_head_dim(s.head_dim, [&]<int HDP>() {
    constexpr int W = ForwardTiling<HDP>::warps, R = ForwardTiling<HDP>::rows;
    const dim3 grid(blocks_for(s.T, W * R), unsigned(s.B * s.n_heads));
    forward_kernel<HDP, W, R>
        <<<grid, W * kWarp, 0, st>>>(out, lse, q, k, v, s.T, s.n_heads, s.n_kv_heads, s.head_dim, qk_scale);
    AWSDT_CHECK_CUDA(cudaGetLastError());
  });
}

void attention_output_dot(float* D, const Bf16* dout, const Bf16* out, const AttentionShape& s, void* stream) {
  const std::size_t rows = std::size_t(s.B) * s.T * s.n_heads;
  constexpr int kRowThreads = 256;  // 8 rows per block
  row_dot_kernel<<<unsigned((rows * kWarp + kRowThreads - 1) / kRowThreads), kRowThreads, 0,
                   static_cast<cudaStream_t>(stream)>>>(D, dout, out, rows, s.T, s.n_heads, s.head_dim);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void attention_backward(Bf16* dq, Bf16* dk, Bf16* dv, const Bf16* dout, const Bf16* out, const Bf16* q, const Bf16* k,
                        const Bf16* v, const float* lse, float* scratch, const AttentionShape& s, void* stream) {
  if (!check_shape(s)) return;
  auto st = static_cast<cudaStream_t>(stream);
  const float scale = 1.f / std::sqrt(float(s.head_dim));
  const float qk_scale = scale * kLog2e;

  attention_output_dot(scratch, dout, out, s, stream);

  with_padded_head_dim(s.head_dim, [&]<int HDP>() {
    constexpr int W = BackwardTiling<HDP>::warps, R = BackwardTiling<HDP>::rows;
    const dim3 q_grid(blocks_for(s.T, W * R), unsigned(s.B * s.n_heads));
    dq_kernel<HDP, W, R><<<q_grid, W * kWarp, 0, st>>>(dq, dout, q, k, v, lse, scratch, s.T, s.n_heads, s.n_kv_heads,
                                                       s.head_dim, qk_scale, scale);
    AWSDT_CHECK_CUDA(cudaGetLastError());
    const dim3 kv_grid(blocks_for(s.T, W * R), unsigned(s.B * s.n_kv_heads));
    dkdv_kernel<HDP, W, R><<<kv_grid, W * kWarp, 0, st>>>(dk, dv, dout, q, k, v, lse, scratch, s.T, s.n_heads,
                                                          s.n_kv_heads, s.head_dim, qk_scale, scale);
    AWSDT_CHECK_CUDA(cudaGetLastError());
  });
}

}  // namespace awsdt::kernels::cuda
