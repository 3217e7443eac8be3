// Element-wise reductions on host memory, for every DataType (f16/bf16 computed in float, rounded back).
// Used by the MPI backend for types MPI has no arithmetic for, and for avg's final division.
#pragma once

#include <cstddef>

#include "comm/dtype.hpp"

namespace awsdt::kernels::cpu {

/// inout[i] = inout[i] (op) in[i]; avg combines as sum.
void reduce_inplace(void* inout, const void* in, std::size_t count, DataType type, ReduceOp op);
/// data[i] /= divisor (integer types truncate toward zero, as NCCL's avg does).
void divide_inplace(void* data, std::size_t count, DataType type, int divisor);

}  // namespace awsdt::kernels::cpu
