// MPI datatypes and reductions (see mpi_types.hpp).
#include "comm/mpi/mpi_types.hpp"

#include <array>
#include <mutex>

#include "comm/mpi/mpi_runtime.hpp"
#include "kernels/cpu/reduce.hpp"

namespace awsdt::mpi {
namespace {

struct HalfTypes {
  MPI_Datatype f16 = MPI_DATATYPE_NULL, bf16 = MPI_DATATYPE_NULL;
  // [0] f16, [1] bf16; indexed by ReduceOp (avg uses the sum entry).
  std::array<std::array<MPI_Op, 4>, 2> ops{};
};

template <DataType T, ReduceOp Op>
void half_reduction(void* in, void* inout, int* len, MPI_Datatype*) {
  kernels::cpu::reduce_inplace(inout, in, std::size_t(*len), T, Op);
}

template <DataType T>
void create_ops(std::array<MPI_Op, 4>& ops) {
  AWSDT_CHECK_MPI(MPI_Op_create(&half_reduction<T, ReduceOp::sum>, 1, &ops[0]));
  AWSDT_CHECK_MPI(MPI_Op_create(&half_reduction<T, ReduceOp::prod>, 1, &ops[1]));
  AWSDT_CHECK_MPI(MPI_Op_create(&half_reduction<T, ReduceOp::min>, 1, &ops[2]));
  AWSDT_CHECK_MPI(MPI_Op_create(&half_reduction<T, ReduceOp::max>, 1, &ops[3]));
}

const HalfTypes& half_types() {
  static HalfTypes types;
  static std::once_flag once;
  std::call_once(once, [] {
    AWSDT_CHECK_MPI(MPI_Type_contiguous(1, MPI_UINT16_T, &types.f16));
    AWSDT_CHECK_MPI(MPI_Type_commit(&types.f16));
    AWSDT_CHECK_MPI(MPI_Type_contiguous(1, MPI_UINT16_T, &types.bf16));
    AWSDT_CHECK_MPI(MPI_Type_commit(&types.bf16));
    create_ops<DataType::f16>(types.ops[0]);
    create_ops<DataType::bf16>(types.ops[1]);
  });
  return types;
}

}  // namespace

MPI_Datatype datatype(DataType type) {
  switch (type) {
    case DataType::f32: return MPI_FLOAT;
    case DataType::f64: return MPI_DOUBLE;
    case DataType::f16: return half_types().f16;
    case DataType::bf16: return half_types().bf16;
    case DataType::i8: return MPI_INT8_T;
    case DataType::u8: return MPI_UINT8_T;
    case DataType::i32: return MPI_INT32_T;
    case DataType::u32: return MPI_UINT32_T;
    case DataType::i64: return MPI_INT64_T;
    case DataType::u64: return MPI_UINT64_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op reduction(DataType type, ReduceOp op) {
  int index = op == ReduceOp::avg ? 0 : int(op);
  if (type == DataType::f16) return half_types().ops[0][index];
  if (type == DataType::bf16) return half_types().ops[1][index];
  static const std::array<MPI_Op, 4> kBuiltin{MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX};
  return kBuiltin[index];
}

}  // namespace awsdt::mpi
