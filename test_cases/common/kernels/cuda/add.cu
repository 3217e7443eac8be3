// dst += src on the GPU in f32, bf16 or f16 (contract: kernels/gemm.hpp), for partial sums that travel around a
// ring of ranks: each addition is done in fp32 and rounded once to the element type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "device/cuda/check_cuda.hpp"
#include "kernels/gemm.hpp"
#include "util/error.hpp"

namespace awsdt::kernels::cuda {
namespace {

__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ float widen(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float widen(__half x) { return __half2float(x); }
template <class T>
__device__ __forceinline__ T narrow(float x);
template <>
__device__ __forceinline__ float narrow<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 narrow<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half narrow<__half>(float x) {
  return __float2half_rn(x);
}

template <class T>
__global__ void add_kernel(T* dst, const T* src, std::size_t n) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    dst[i] = narrow<T>(widen(dst[i]) + widen(src[i]));
}

template <class T>
void launch(void* dst, const void* src, std::size_t n, void* stream) {
  if (n == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((n + 255) / 256, 4096));
  add_kernel<T>
      <<<blocks, 256, 0, static_cast<cudaStream_t>(stream)>>>(static_cast<T*>(dst), static_cast<const T*>(src), n);
  AWSDT_CHECK_CUDA(cudaGetLastError());
}

}  // namespace

void add_into(void* dst, const void* src, std::size_t n, DataType dtype, void* stream) {
  switch (dtype) {
    case DataType::f32: return launch<float>(dst, src, n, stream);
    case DataType::bf16: return launch<__nv_bfloat16>(dst, src, n, stream);
    case DataType::f16: return launch<__half>(dst, src, n, stream);
    default: AWSDT_THROW("GPU additions run in float, bfloat16 or half");
  }
}

}  // namespace awsdt::kernels::cuda
