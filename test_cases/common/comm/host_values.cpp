// all_reduce_host: copy in, all-reduce in place, copy out, all ordered on one stream of the communicator's device.
#include "comm/host_values.hpp"

namespace awsdt {

void all_reduce_host(Communicator& comm, void* values, std::size_t count, DataType type, ReduceOp op) {
  const std::size_t bytes = count * dtype_size(type);
  Stream stream(comm.device());
  if (!comm.device().is_cuda()) {  // host memory is the communicator's own
    comm.all_reduce(values, values, count, type, op, stream);
    return stream.synchronize();
  }
  Buffer staged = Buffer::on(comm.device(), bytes);
  copy_async(staged.data(), values, bytes, stream);
  comm.all_reduce(staged.data(), staged.data(), count, type, op, stream);
  copy_async(values, staged.data(), bytes, stream);
  stream.synchronize();
}

double all_reduce_value(Communicator& comm, double value, ReduceOp op) {
  all_reduce_host(comm, &value, 1, DataType::f64, op);
  return value;
}

std::int64_t all_reduce_value(Communicator& comm, std::int64_t value, ReduceOp op) {
  all_reduce_host(comm, &value, 1, DataType::i64, op);
  return value;
}

std::int32_t all_reduce_value(Communicator& comm, std::int32_t value, ReduceOp op) {
  all_reduce_host(comm, &value, 1, DataType::i32, op);
  return value;
}

}  // namespace awsdt
