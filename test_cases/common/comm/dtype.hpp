// Element types and reduction operations of the communication layer, with the names nccl-tests uses.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace awsdt {

enum class DataType { f32, f64, f16, bf16, i8, u8, i32, u32, i64, u64 };
enum class ReduceOp { sum, prod, min, max, avg };

std::size_t dtype_size(DataType t);
/// nccl-tests' name: float, double, half, bfloat16, int8, uint8, int32, uint32, int64, uint64.
std::string_view dtype_name(DataType t);
/// Accepts nccl-tests' names and the short ones (f32, bf16, i32, ...); throws UsageError listing them.
DataType parse_dtype(std::string_view text);
bool is_floating(DataType t);
std::span<const DataType> all_dtypes();

std::string_view op_name(ReduceOp op);
/// Accepts sum, prod, min, max, avg; throws UsageError listing them.
ReduceOp parse_op(std::string_view text);
std::span<const ReduceOp> all_ops();

}  // namespace awsdt
