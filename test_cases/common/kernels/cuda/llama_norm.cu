// RMSNorm forward and backward on CUDA: bf16 values, fp32 arithmetic. The CPU reference (same formulas, same
// operation order) is kernels/cpu/llama_rmsnorm; the contract is kernels/cuda/llama_layers.hpp.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "kernels/cuda/warp.cuh"

namespace awsdt::kernels::cuda {
namespace {

using bf16 = __nv_bfloat16;

// Row kernels: one warp per row (a row of C ≤ a few thousand values is too little work for a whole block), so
// the row's reduction is a warp shuffle with no shared memory or barrier.
constexpr int kRowsPerBlock = 8;
// dweight kernel: a block sums a tile of kColTile columns over a chunk of rows, kRowLanes rows at a time.
constexpr int kColTile = 32;
constexpr int kRowLanes = 8;
constexpr int kMinRowsPerChunk = 128;  // rows one dweight block sums before its single atomicAdd per column
constexpr int kMaxRowChunks = 1024;    // bound on gridDim.y (limit 65535) and on atomics per column

__global__ void rmsnorm_forward_kernel(bf16* out, float* rstd, const bf16* inp, const bf16* weight, int N, int C,
                                       float eps) {
  const int lane = threadIdx.x % kWarp;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  if (row >= N) return;  // the whole warp leaves together, so warp_sum below always has all 32 lanes
  const bf16* x = inp + static_cast<std::size_t>(row) * C;
  bf16* y = out + static_cast<std::size_t>(row) * C;

  float sum_sq = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const float v = __bfloat162float(x[c]);
    sum_sq += v * v;
  }
  sum_sq = warp_sum(sum_sq);  // every lane gets the row total
  const float r = 1.0f / sqrtf(sum_sq / static_cast<float>(C) + eps);

  // (x·r)·w as the CPU layer. Each lane reads x[c] before writing y[c], so even out == inp would be safe.
  for (int c = lane; c < C; c += kWarp)
    y[c] = __float2bfloat16_rn(__bfloat162float(x[c]) * r * __bfloat162float(weight[c]));
  if (lane == 0) rstd[row] = r;
}

// dinp: with xhat = x·r and dxhat = dy·w, dx = r · (dxhat − xhat · mean(dxhat·xhat)); one warp per row.
__global__ void rmsnorm_backward_dinp_kernel(bf16* dinp, const bf16* dout, const bf16* inp, const bf16* weight,
                                             const float* rstd, int N, int C) {
  const int lane = threadIdx.x % kWarp;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp;
  if (row >= N) return;  // whole warp, as in the forward
  const std::size_t base = static_cast<std::size_t>(row) * C;
  const bf16* x = inp + base;
  const bf16* dy = dout + base;
  bf16* dx = dinp + base;
  const float r = rstd[row];

  float dot = 0.0f;
  for (int c = lane; c < C; c += kWarp)
    dot += __bfloat162float(dy[c]) * __bfloat162float(weight[c]) * __bfloat162float(x[c]) * r;
  const float mean_dot = warp_sum(dot) / static_cast<float>(C);

  // Read-modify-write: dinp already holds the residual stream's gradient, which this adds to.
  for (int c = lane; c < C; c += kWarp) {
    const float xc = __bfloat162float(x[c]);
    const float g = r * (__bfloat162float(dy[c]) * __bfloat162float(weight[c]) - xc * r * mean_dot);
    dx[c] = __float2bfloat16_rn(__bfloat162float(dx[c]) + g);
  }
}

// dweight[c] += Σ_n dy[n,c]·x[n,c]·r[n]. Block (kColTile, kRowLanes) covers columns
// [blockIdx.x·kColTile, +kColTile) and rows [blockIdx.y·rows_per_chunk, +rows_per_chunk): thread (tx, ty) sums
// rows ty, ty + kRowLanes, ... of the chunk for column tx (a warp reads 32 consecutive columns of one row), the
// kRowLanes partial sums meet in shared memory, and one atomicAdd per column per block adds them to dweight,
// instead of one atomic per element.
__global__ void rmsnorm_backward_dweight_kernel(float* dweight, const bf16* dout, const bf16* inp, const float* rstd,
                                                int N, int C, int rows_per_chunk) {
  __shared__ float partial[kRowLanes][kColTile];
  const int c = blockIdx.x * kColTile + threadIdx.x;
  const int n0 = blockIdx.y * rows_per_chunk;
  const int n1 = min(N, n0 + rows_per_chunk);
  float acc = 0.0f;
  if (c < C) {
    for (int n = n0 + threadIdx.y; n < n1; n += kRowLanes) {
      const std::size_t i = static_cast<std::size_t>(n) * C + c;
      acc += __bfloat162float(dout[i]) * (__bfloat162float(inp[i]) * rstd[n]);
    }
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();  // reached by every thread: no early return above
  if (threadIdx.y == 0 && c < C) {
    float sum = 0.0f;
    for (int k = 0; k < kRowLanes; ++k) sum += partial[k][threadIdx.x];
    atomicAdd(dweight + c, sum);
  }
}

unsigned row_blocks(int N) { return static_cast<unsigned>((N + kRowsPerBlock - 1) / kRowsPerBlock); }

}  // namespace

void rmsnorm_forward(Bf16* out, float* rstd, const Bf16* inp, const Bf16* weight, int N, int C, float eps,
                     void* stream) {
  if (N <= 0 || C <= 0) return;  // nothing to do (and a zero-sized grid would be a launch error)
  rmsnorm_forward_kernel<<<row_blocks(N), kRowsPerBlock * kWarp, 0, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<bf16*>(out), rstd, reinterpret_cast<const bf16*>(inp), reinterpret_cast<const bf16*>(weight), N,
      C, eps);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void rmsnorm_backward(Bf16* dinp, float* dweight, const Bf16* dout, const Bf16* inp, const Bf16* weight,
                      const float* rstd, int N, int C, void* stream) {
  if (N <= 0 || C <= 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  auto* dy = reinterpret_cast<const bf16*>(dout);
  auto* x = reinterpret_cast<const bf16*>(inp);
  rmsnorm_backward_dinp_kernel<<<row_blocks(N), kRowsPerBlock * kWarp, 0, s>>>(
      reinterpret_cast<bf16*>(dinp), dy, x, reinterpret_cast<const bf16*>(weight), rstd, N, C);
  AWSDT_CHECK_CUDA(cudaGetLastError());

  // Chunks of at least kMinRowsPerChunk rows, and at most kMaxRowChunks of them however large N grows.
  const int rows_per_chunk = std::max(kMinRowsPerChunk, (N + kMaxRowChunks - 1) / kMaxRowChunks);
  const dim3 grid(static_cast<unsigned>((C + kColTile - 1) / kColTile),
                  static_cast<unsigned>((N + rows_per_chunk - 1) / rows_per_chunk));
  rmsnorm_backward_dweight_kernel<<<grid, dim3(kColTile, kRowLanes), 0, s>>>(dweight, dy, x, rstd, N, C,
                                                                             rows_per_chunk);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace awsdt::kernels::cuda
