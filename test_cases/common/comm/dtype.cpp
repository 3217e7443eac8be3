// Names and sizes of element types and reduction operations (see dtype.hpp).
#include "comm/dtype.hpp"

#include <array>

#include <fmt/format.h>

#include "util/error.hpp"

namespace awsdt {
namespace {
struct DtypeInfo {
  DataType type;
  std::string_view name, short_name;
  std::size_t size;
};
constexpr std::array<DtypeInfo, 10> kDtypes{{
    {DataType::f32, "float", "f32", 4},
    {DataType::f64, "double", "f64", 8},
    {DataType::f16, "half", "f16", 2},
    {DataType::bf16, "bfloat16", "bf16", 2},
    {DataType::i8, "int8", "i8", 1},
    {DataType::u8, "uint8", "u8", 1},
    {DataType::i32, "int32", "i32", 4},
    {DataType::u32, "uint32", "u32", 4},
    {DataType::i64, "int64", "i64", 8},
    {DataType::u64, "uint64", "u64", 8},
}};
constexpr std::array<DataType, 10> kAllDtypes{DataType::f32, DataType::f64, DataType::f16, DataType::bf16,
                                              DataType::i8,  DataType::u8,  DataType::i32, DataType::u32,
                                              DataType::i64, DataType::u64};
constexpr std::array<std::string_view, 5> kOpNames{"sum", "prod", "min", "max", "avg"};
constexpr std::array<ReduceOp, 5> kAllOps{ReduceOp::sum, ReduceOp::prod, ReduceOp::min, ReduceOp::max, ReduceOp::avg};
}  // namespace

std::size_t dtype_size(DataType t) { return kDtypes[std::size_t(t)].size; }
std::string_view dtype_name(DataType t) { return kDtypes[std::size_t(t)].name; }
bool is_floating(DataType t) {
  return t == DataType::f32 || t == DataType::f64 || t == DataType::f16 || t == DataType::bf16;
}
std::span<const DataType> all_dtypes() { return kAllDtypes; }

DataType parse_dtype(std::string_view text) {
  for (const auto& d : kDtypes)
    if (text == d.name || text == d.short_name) return d.type;
  // Aliases nccl-tests accepts.
  if (text == "float32") return DataType::f32;
  if (text == "float64") return DataType::f64;
  if (text == "float16" || text == "fp16") return DataType::f16;
  if (text == "bf16" || text == "bfloat") return DataType::bf16;
  if (text == "int") return DataType::i32;
  if (text == "char") return DataType::i8;
  throw UsageError(fmt::format(
      "unknown datatype '{}'; expected one of float, double, half, bfloat16, int8, uint8, int32, uint32, int64, "
      "uint64 (or f32, f64, f16, bf16, i8, u8, i32, u32, i64, u64)",
      text));
}

std::string_view op_name(ReduceOp op) { return kOpNames[std::size_t(op)]; }
std::span<const ReduceOp> all_ops() { return kAllOps; }

ReduceOp parse_op(std::string_view text) {
  for (std::size_t i = 0; i < kOpNames.size(); ++i)
    if (text == kOpNames[i]) return ReduceOp(i);
  throw UsageError(fmt::format("unknown reduction op '{}'; expected one of sum, prod, min, max, avg", text));
}

}  // namespace awsdt
