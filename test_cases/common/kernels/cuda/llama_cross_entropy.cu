// Fused softmax cross-entropy on CUDA (forward loss and backward dlogits in one kernel, as llm.c's classifier):
// bf16 logits, fp32 arithmetic. CPU reference: kernels/cpu/llama_cross_entropy (split into forward + backward);
// contract: kernels/cuda/llama_layers.hpp.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/llama_layers.hpp"
#include "kernels/cuda/warp.cuh"

namespace awsdt::kernels::cuda {
namespace {

using bf16 = __nv_bfloat16;

// One block per row; a vocabulary of 32k–128k logits gives each of 512 threads 60–250 of them.
constexpr int kThreads = 512;
constexpr int kWarps = kThreads / kWarp;

// Online softmax denominator: (m, s) holds the running maximum m and s = Σ exp(z − m) over the values seen.
__device__ void absorb(float& m, float& s, float z) {
  if (z > m) {
    s = s * expf(m - z) + 1.0f;  // rescale to the new maximum (m = −inf the first time: s = 0·0 + 1)
    m = z;
  } else if (z != -INFINITY) {  // exp(−inf) adds nothing, and −inf − (−inf) would be NaN; a NaN z does propagate
    s += expf(z - m);
  }
}

// Merges another thread's (m2, s2) into (m, s). A thread that saw no values holds (−inf, 0).
__device__ void combine(float& m, float& s, float m2, float s2) {
  const float top = fmaxf(m, m2);
  if (top == -INFINITY) return;  // both empty
  s = s * expf(m - top) + s2 * expf(m2 - top);
  m = top;
}

// Block-wide (max, sum) of every thread's (m, s); every thread gets the result. Contains __syncthreads, so all
// threads of the block must call it.
__device__ void block_combine(float& m, float& s) {
  __shared__ float warp_m[kWarps], warp_s[kWarps];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    combine(m, s, __shfl_xor_sync(kFullMask, m, offset), __shfl_xor_sync(kFullMask, s, offset));
  if (lane == 0) {
    warp_m[warp] = m;
    warp_s[warp] = s;
  }
  __syncthreads();
  // Every warp reduces the kWarps partials itself (cheaper than a second barrier and a broadcast): the same
  // inputs in the same order, so every warp's lane 0 gets the same bits.
  m = lane < kWarps ? warp_m[lane] : -INFINITY;
  s = lane < kWarps ? warp_s[lane] : 0.0f;
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    combine(m, s, __shfl_xor_sync(kFullMask, m, offset), __shfl_xor_sync(kFullMask, s, offset));
  // Lanes may differ in the last bit (combine's sum of products can be contracted to an fma in either order), so
  // all take lane 0's value: every thread of the row then uses one and the same (max, sum).
  m = __shfl_sync(kFullMask, m, 0);
  s = __shfl_sync(kFullMask, s, 0);
}

// Block n handles row n. Pass 1: (max, Σexp) of the row. Pass 2: dlogits. When dlogits aliases logits, pass 2
// overwrites the row, which is safe because (a) pass 2 starts after the barrier in block_combine, when every
// thread has finished reading in pass 1, (b) in pass 2 each element is read and then written by the same thread,
// and (c) z[target] is read by thread 0 before that barrier.
__global__ void cross_entropy_kernel(bf16* dlogits, float* losses, const bf16* logits, const std::int32_t* targets,
                                     int V, float dloss_scale) {
  const std::size_t base = static_cast<std::size_t>(blockIdx.x) * V;
  const bf16* z = logits + base;
  bf16* d = dlogits + base;
  const std::int32_t target = targets[blockIdx.x];

  if (target < 0) {  // ignored row; the branch is uniform over the block, so no thread skips a barrier alone
    for (int i = threadIdx.x; i < V; i += kThreads) d[i] = __float2bfloat16_rn(0.0f);
    if (threadIdx.x == 0) losses[blockIdx.x] = 0.0f;
    return;
  }

  // A target ≥ V (the caller's check failed) gives a NaN loss rather than an out-of-bounds read.
  float z_target = 0.0f;
  if (threadIdx.x == 0) z_target = target < V ? __bfloat162float(z[target]) : NAN;

  float m = -INFINITY, s = 0.0f;
  for (int i = threadIdx.x; i < V; i += kThreads) absorb(m, s, __bfloat162float(z[i]));
  block_combine(m, s);

  // −log softmax(z)[y] = log Σ exp(z − max) + max − z[y], which cannot overflow as −log p[y] can.
  if (threadIdx.x == 0) losses[blockIdx.x] = logf(s) + (m - z_target);

  const float inv_sum = 1.0f / s;
  for (int i = threadIdx.x; i < V; i += kThreads) {
    const float p = expf(__bfloat162float(z[i]) - m) * inv_sum;
    d[i] = __float2bfloat16_rn(dloss_scale * (p - (i == target ? 1.0f : 0.0f)));
  }
}

}  // namespace

void cross_entropy_fused(Bf16* dlogits, float* losses, const Bf16* logits, const std::int32_t* targets, int N, int V,
                         float dloss_scale, void* stream) {
  if (N <= 0 || V <= 0) return;  // nothing to do (and a zero-sized grid would be a launch error)
  cross_entropy_kernel<<<static_cast<unsigned>(N), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      reinterpret_cast<bf16*>(dlogits), losses, reinterpret_cast<const bf16*>(logits), targets, V, dloss_scale);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace awsdt::kernels::cuda
