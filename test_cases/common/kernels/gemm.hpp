// Row-major GEMM on the device of a stream, for benchmarks and tensor-parallel operations that run the same
// code on CPUs and GPUs: fp32 cblas_sgemm on CPUs (kernels/cpu/llama_gemm), bf16 or fp16 inputs with fp32
// accumulation on GPUs (cuBLASLt, kernels/cuda/lt_gemm). Work is enqueued on the stream and returns at once.
#pragma once

#include <cstddef>
#include <memory>

#include "comm/dtype.hpp"
#include "device/device.hpp"

namespace awsdt::kernels {

/// C[m,n] = op(A)·op(B) + beta·C, every matrix row-major and contiguous: op(A) is [m,k] (A stored [k,m] when
/// trans_a), op(B) is [k,n] (B stored [n,k] when trans_b), C is [m,n].
struct GemmShape {
  int m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  /// 2·m·n·k.
  double flops() const { return 2.0 * m * static_cast<double>(n) * k; }
};

/// A GEMM engine for one device: on GPUs it holds a cuBLASLt handle, its workspace and the chosen algorithms,
/// so keep one per stream that runs GEMMs.
class GemmEngine {
 public:
  virtual ~GemmEngine() = default;
  /// Enqueues C = op(A)·op(B) + beta·C on `stream` (of this engine's device) in `dtype`: f32 on CPUs; bf16 or f16
  /// on GPUs, accumulated in fp32 and written in `dtype`.
  virtual void run(const GemmShape& shape, DataType dtype, const void* a, const void* b, void* c, float beta,
                   Stream& stream) = 0;
};

/// The engine for `device`; throws UsageError for a device this build cannot compute on.
std::unique_ptr<GemmEngine> make_gemm_engine(const Device& device);
/// The element types a GEMM engine for `device` takes, for messages: "float" on CPUs, "bfloat16, half" on GPUs.
const char* gemm_dtypes(const Device& device);
/// Whether make_gemm_engine(device) runs `dtype`.
bool gemm_supports(const Device& device, DataType dtype);

/// dst[i] += src[i] for n elements of `dtype` (f32 on CPUs; f32, bf16 or f16 on GPUs), on `stream`.
void add_into(void* dst, const void* src, std::size_t n, DataType dtype, Stream& stream);

namespace cuda {
/// The cuBLASLt engine (kernels/cuda/lt_gemm.cpp; builds with CUDA only).
std::unique_ptr<GemmEngine> make_lt_gemm_engine(const Device& device);
/// add_into's kernel (kernels/cuda/add.cu; builds with CUDA only).
void add_into(void* dst, const void* src, std::size_t n, DataType dtype, void* stream);
}  // namespace cuda

}  // namespace awsdt::kernels
