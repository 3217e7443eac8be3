// CUDA fill/verify kernels (see kernels/fill.hpp); the element math is kernels/pattern.hpp, shared with the CPU.
#include <cuda_runtime.h>

#include "device/cuda/check_cuda.hpp"
#include "kernels/cuda/grid_stride.cuh"
#include "kernels/fill.hpp"

namespace awsdt::kernels::cuda {
namespace {

__global__ void fill_kernel(void* buf, std::size_t count, DataType type, Pattern pattern, int rank, std::size_t first) {
  for (std::size_t i = first_index(); i < count; i += grid_stride())
    store_element(buf, i, type, pattern_value(pattern, rank, first + i));
}

__global__ void verify_kernel(const void* buf, std::size_t count, DataType type, Expectation expect,
                              unsigned long long* wrong) {
  unsigned long long local = 0;
  for (std::size_t i = first_index(); i < count; i += grid_stride())
    local += element_matches(buf, i, type, expect) ? 0 : 1;
  if (local) atomicAdd(wrong, local);
}

}  // namespace

void fill_pattern(void* buf, std::size_t count, DataType type, const Pattern& pattern, int rank, std::size_t first,
                  void* stream) {
  fill_kernel<<<grid_for(count), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(buf, count, type, pattern, rank,
                                                                                   first);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

std::uint64_t count_mismatches(const void* buf, std::size_t count, DataType type, const Expectation& expect,
                               void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  unsigned long long* wrong = nullptr;
  AWSDT_CHECK_CUDA(cudaMallocAsync(&wrong, sizeof(*wrong), s));
  AWSDT_CHECK_CUDA(cudaMemsetAsync(wrong, 0, sizeof(*wrong), s));
  verify_kernel<<<grid_for(count), kThreads, 0, s>>>(buf, count, type, expect, wrong);
  AWSDT_CHECK_CUDA(cudaGetLastError());
  unsigned long long host = 0;
  AWSDT_CHECK_CUDA(cudaMemcpyAsync(&host, wrong, sizeof(host), cudaMemcpyDeviceToHost, s));
  AWSDT_CHECK_CUDA(cudaFreeAsync(wrong, s));
  AWSDT_CHECK_CUDA(cudaStreamSynchronize(s));
  return host;
}

}  // namespace awsdt::kernels::cuda
