// Warp-level reductions shared by the CUDA layers: every lane of a full warp ends with the result.
#pragma once

namespace awsdt::kernels::cuda {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

/// Σ x over the 32 lanes (float or double), by butterfly shuffles.
template <typename T>
__device__ __forceinline__ T warp_sum(T x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

/// max x over the 32 lanes.
__device__ __forceinline__ float warp_max(float x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(kFullMask, x, offset));
  return x;
}

}  // namespace awsdt::kernels::cuda
