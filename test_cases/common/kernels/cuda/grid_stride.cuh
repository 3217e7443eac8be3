// Grid-stride launches shared by the CUDA kernels: a bounded grid of kThreads-thread blocks whose threads loop over
// first_index(), first_index() + grid_stride(), ..., so that any element count runs on any GPU.
#pragma once

#include <algorithm>
#include <cstddef>

namespace awsdt::kernels::cuda {

constexpr int kThreads = 256;
/// Enough blocks to fill any current GPU several times over; larger counts loop.
constexpr std::size_t kMaxBlocks = 8192;

/// Blocks of kThreads for `count` elements, between 1 and max_blocks.
inline unsigned grid_for(std::size_t count, std::size_t max_blocks = kMaxBlocks) {
  const std::size_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::clamp<std::size_t>(blocks, 1, max_blocks));
}

__device__ __forceinline__ std::size_t first_index() { return blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; }
__device__ __forceinline__ std::size_t grid_stride() { return std::size_t(gridDim.x) * blockDim.x; }

}  // namespace awsdt::kernels::cuda
