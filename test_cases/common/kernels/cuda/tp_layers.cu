// The vocab-parallel embedding and cross-entropy on CUDA (contract: kernels/cuda/tp_layers.hpp): bf16 values,
// fp32 arithmetic; one block per row for the cross-entropy, grid-stride loops for the embedding.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/tp_layers.hpp"
#include "kernels/cuda/warp.cuh"

namespace awsdt::kernels::cuda {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kWarps = kThreads / kWarp;

__global__ void vocab_embedding_forward_kernel(bf16* out, const std::int32_t* tokens, const bf16* table, int N, int C,
                                               int v0, int V) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  for (std::size_t i = first_index(); i < total; i += grid_stride()) {
    const std::size_t n = i / C, c = i % C;
    const int row = tokens[n] - v0;
    out[i] = row >= 0 && row < V ? table[static_cast<std::size_t>(row) * C + c] : __float2bfloat16_rn(0.0f);
  }
}

__global__ void vocab_embedding_backward_kernel(float* dtable, const std::int32_t* tokens, const bf16* dout, int N,
                                                int C, int v0, int V) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  for (std::size_t i = first_index(); i < total; i += grid_stride()) {
    const std::size_t n = i / C, c = i % C;
    const int row = tokens[n] - v0;
    if (row >= 0 && row < V) atomicAdd(dtable + static_cast<std::size_t>(row) * C + c, __bfloat162float(dout[i]));
  }
}

// Block-wide reductions; every thread gets the result (all threads of the block must call them).
__device__ float block_max(float x) {
  __shared__ float partial[kWarps];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  x = warp_max(x);
  if (lane == 0) partial[warp] = x;
  __syncthreads();
  x = lane < kWarps ? partial[lane] : -INFINITY;
  x = warp_max(x);
  return __shfl_sync(kFullMask, x, 0);
}

__device__ float block_sum(float x) {
  __shared__ float partial[kWarps];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  x = warp_sum(x);
  if (lane == 0) partial[warp] = x;
  __syncthreads();
  x = lane < kWarps ? partial[lane] : 0.0f;
  x = warp_sum(x);
  return __shfl_sync(kFullMask, x, 0);
}

__global__ void row_max_kernel(float* row_max, const bf16* logits, int V) {
  const bf16* z = logits + static_cast<std::size_t>(blockIdx.x) * V;
  float m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += kThreads) m = fmaxf(m, __bfloat162float(z[i]));
  m = block_max(m);
  if (threadIdx.x == 0) row_max[blockIdx.x] = m;
}

__global__ void stats_kernel(float* stats, const bf16* logits, const std::int32_t* targets, const float* row_max, int N,
                             int V, int v0) {
  const bf16* z = logits + static_cast<std::size_t>(blockIdx.x) * V;
  const float m = row_max[blockIdx.x];
  float s = 0.0f;
  for (int i = threadIdx.x; i < V; i += kThreads) s += expf(__bfloat162float(z[i]) - m);
  s = block_sum(s);
  if (threadIdx.x == 0) {
    const int local = targets[blockIdx.x] - v0;
    stats[blockIdx.x] = s;
    stats[N + blockIdx.x] = targets[blockIdx.x] >= 0 && local >= 0 && local < V ? __bfloat162float(z[local]) : 0.0f;
  }
}

// Each element is read and then written by the same thread, so dlogits may alias logits.
__global__ void finish_kernel(bf16* dlogits, float* losses, const bf16* logits, const std::int32_t* targets,
                              const float* row_max, const float* stats, int N, int V, int v0, float dloss_scale) {
  const std::size_t base = static_cast<std::size_t>(blockIdx.x) * V;
  const std::int32_t target = targets[blockIdx.x];
  if (target < 0) {  // ignored row (uniform over the block)
    for (int i = threadIdx.x; i < V; i += kThreads) dlogits[base + i] = __float2bfloat16_rn(0.0f);
    if (threadIdx.x == 0) losses[blockIdx.x] = 0.0f;
    return;
  }
  const float m = row_max[blockIdx.x], s = stats[blockIdx.x];
  if (threadIdx.x == 0) losses[blockIdx.x] = logf(s) + (m - stats[N + blockIdx.x]);
  const float inv_sum = 1.0f / s;
  const int local = target - v0;
  for (int i = threadIdx.x; i < V; i += kThreads) {
    const float p = expf(__bfloat162float(logits[base + i]) - m) * inv_sum;
    dlogits[base + i] = __float2bfloat16_rn(dloss_scale * (p - (i == local ? 1.0f : 0.0f)));
  }
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace

void vocab_embedding_forward(Bf16* out, const std::int32_t* tokens, const Bf16* table, int N, int C, int v0, int V,
                             void* stream) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  if (total == 0) return;
  vocab_embedding_forward_kernel<<<grid_for(total), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<bf16*>(out), tokens, reinterpret_cast<const bf16*>(table), N, C, v0, V);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void vocab_embedding_backward(float* dtable, const std::int32_t* tokens, const Bf16* dout, int N, int C, int v0, int V,
                              void* stream) {
  const std::size_t total = static_cast<std::size_t>(N) * C;
  if (total == 0) return;
  vocab_embedding_backward_kernel<<<grid_for(total), kThreads, 0, as_stream(stream)>>>(
      dtable, tokens, reinterpret_cast<const bf16*>(dout), N, C, v0, V);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void vocab_ce_row_max(float* row_max, const Bf16* logits, int N, int V, void* stream) {
  if (N <= 0 || V <= 0) return;
  row_max_kernel<<<static_cast<unsigned>(N), kThreads, 0, as_stream(stream)>>>(
      row_max, reinterpret_cast<const bf16*>(logits), V);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void vocab_ce_stats(float* stats, const Bf16* logits, const std::int32_t* targets, const float* row_max, int N, int V,
                    int v0, void* stream) {
  if (N <= 0 || V <= 0) return;
  stats_kernel<<<static_cast<unsigned>(N), kThreads, 0, as_stream(stream)>>>(
      stats, reinterpret_cast<const bf16*>(logits), targets, row_max, N, V, v0);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void vocab_ce_finish(Bf16* dlogits, float* losses, const Bf16* logits, const std::int32_t* targets,
                     const float* row_max, const float* stats, int N, int V, int v0, float dloss_scale, void* stream) {
  if (N <= 0 || V <= 0) return;
  finish_kernel<<<static_cast<unsigned>(N), kThreads, 0, as_stream(stream)>>>(
      reinterpret_cast<bf16*>(dlogits), losses, reinterpret_cast<const bf16*>(logits), targets, row_max, stats, N, V,
      v0, dloss_scale);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace awsdt::kernels::cuda
