// Element-wise CPU kernels on flat buffers: dtype conversion, accumulation and zeroing, the CPU counterparts of
// kernels/cuda's cast_to_bf16 / cast_to_f32 / accumulate and a memset.
#pragma once

#include <cstddef>

#include "comm/dtype.hpp"

namespace awsdt::kernels::cpu {

/// Where a loop runs: split over the calling thread's OpenMP team (the compute side), or on the calling thread
/// alone (a communication stream's worker, which must not take the compute side's cores).
enum class Threads { team, caller };

/// dst[i] = src[i] converted (f32 <-> bf16, or a copy when the types are equal).
void convert(void* dst, DataType dst_type, const void* src, DataType src_type, std::size_t n, Threads threads);
/// acc[i] += src[i] (src f32 or bf16).
void accumulate(float* acc, const void* src, DataType src_type, std::size_t n, Threads threads);
/// Zeroes `bytes` bytes at dst.
void zero(void* dst, std::size_t bytes, Threads threads);

}  // namespace awsdt::kernels::cpu
