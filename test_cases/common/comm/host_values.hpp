// Collectives on a few host values (a loss, a flag, byte counts) through any Communicator: NCCL reads only GPU
// memory, so the values are staged through a buffer on the communicator's device. Blocking; for control-plane
// sized data, not for bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>

#include "comm/communicator.hpp"

namespace awsdt {

/// values[0..count) = op over ranks of every rank's values (host memory, in place); returns when done.
void all_reduce_host(Communicator& comm, void* values, std::size_t count, DataType type, ReduceOp op);

/// op over ranks of one host value.
double all_reduce_value(Communicator& comm, double value, ReduceOp op);
std::int64_t all_reduce_value(Communicator& comm, std::int64_t value, ReduceOp op);
std::int32_t all_reduce_value(Communicator& comm, std::int32_t value, ReduceOp op);

}  // namespace awsdt
