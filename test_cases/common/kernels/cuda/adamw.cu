// Optimizer kernels on CUDA: the squared gradient norm (for global-norm clipping), the clipping scale, and the
// AdamW update in fp32 with its bf16 copy of the parameters. CPU reference: nn/optimizer (nn::AdamW,
// nn::sum_of_squares, nn::scale); contract: kernels/cuda/llama_layers.hpp.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/cuda/llama_layers.hpp"
#include "kernels/cuda/warp.cuh"

namespace awsdt::kernels::cuda {
namespace {

// The norm kernel uses fewer blocks: each adds its partial sum with one fp64 atomic, so this bounds the atomics.
constexpr std::size_t kMaxNormBlocks = 1024;

// Σ x² in fp64 (a float squared is exact in double), reduced per block through warp shuffles and shared memory,
// then one atomicAdd(double*) per block (sm_60 and later).
__global__ void sum_of_squares_kernel(double* acc, const float* x, std::size_t count) {
  __shared__ double warp_sums[kThreads / kWarp];
  double local = 0.0;
  for (std::size_t i = first_index(); i < count; i += grid_stride()) {
    const double v = x[i];
    local += v * v;
  }
  local = warp_sum(local);
  if (threadIdx.x % kWarp == 0) warp_sums[threadIdx.x / kWarp] = local;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kThreads / kWarp; ++w) total += warp_sums[w];
    atomicAdd(acc, total);
  }
}

// acc += src, in fp32 (a gradient shard accumulating what a reduce-scatter delivered).
template <class T>
__global__ void accumulate_kernel(float* acc, const T* src, std::size_t count) {
  for (std::size_t i = first_index(); i < count; i += grid_stride())
    acc[i] = __fadd_rn(acc[i], static_cast<float>(src[i]));
}

// nn::AdamW::step for one element, operation for operation. The __f*_rn intrinsics stop nvcc from contracting
// a·b + c into an fma, so every step rounds as on the CPU (awsdt_nn is built with -ffp-contract=off): same
// inputs, same bits.
__global__ void adamw_kernel(float* params, __nv_bfloat16* params_bf16, const float* grads, float* m, float* v,
                             std::size_t count, AdamWScalars h) {
  const float one_minus_b1 = 1.0f - h.beta1, one_minus_b2 = 1.0f - h.beta2;
  for (std::size_t i = first_index(); i < count; i += grid_stride()) {
    const float g = __fmul_rn(grads[i], h.grad_scale);  // clipping and/or a mean (1: exact, unchanged)
    float p = __fmul_rn(params[i], h.decay_factor);     // decoupled weight decay first (factor 1: unchanged)
    const float mi = __fadd_rn(__fmul_rn(h.beta1, m[i]), __fmul_rn(one_minus_b1, g));
    const float vi = __fadd_rn(__fmul_rn(h.beta2, v[i]), __fmul_rn(__fmul_rn(one_minus_b2, g), g));
    const float mhat = __fdiv_rn(mi, h.bc1), vhat = __fdiv_rn(vi, h.bc2);
    p = __fsub_rn(p, __fdiv_rn(__fmul_rn(h.lr, mhat), __fadd_rn(__fsqrt_rn(vhat), h.eps)));
    m[i] = mi;
    v[i] = vi;
    params[i] = p;
    if (params_bf16 != nullptr) params_bf16[i] = __float2bfloat16_rn(p);
  }
}

}  // namespace

void add_sum_of_squares(double* acc, const float* x, std::size_t count, void* stream) {
  if (count == 0) return;  // adds nothing (and a zero-sized grid would be a launch error)
  sum_of_squares_kernel<<<grid_for(count, kMaxNormBlocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(acc, x,
                                                                                                             count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void accumulate(float* acc, const float* src, std::size_t count, void* stream) {
  if (count == 0) return;
  accumulate_kernel<<<grid_for(count, kMaxBlocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(acc, src, count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void accumulate(float* acc, const Bf16* src, std::size_t count, void* stream) {
  if (count == 0) return;
  accumulate_kernel<<<grid_for(count, kMaxBlocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      acc, reinterpret_cast<const __nv_bfloat16*>(src), count);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

void adamw_step(float* params, Bf16* params_bf16, const float* grads, float* m, float* v, std::size_t count,
                const AdamWScalars& h, void* stream) {
  if (count == 0) return;
  adamw_kernel<<<grid_for(count, kMaxBlocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      params, reinterpret_cast<__nv_bfloat16*>(params_bf16), grads, m, v, count, h);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace awsdt::kernels::cuda
