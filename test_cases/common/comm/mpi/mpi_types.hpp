// Mapping of awsdt element types and reductions to MPI. f16 and bf16 have no MPI arithmetic, so they get
// their own 16-bit datatypes and user-defined reductions that compute in float.
#pragma once

#include <mpi.h>

#include "comm/dtype.hpp"

namespace awsdt::mpi {

MPI_Datatype datatype(DataType type);
/// The MPI reduction for `op` on `type`; avg maps to sum (the caller divides afterwards).
MPI_Op reduction(DataType type, ReduceOp op);

}  // namespace awsdt::mpi
