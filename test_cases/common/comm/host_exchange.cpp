// Host exchanges (see host_exchange.hpp).
#include "comm/host_exchange.hpp"

namespace awsdt {

std::vector<double> all_gather_values(Communicator& comm, std::span<const double> values) {
  std::size_t n = values.size();
  std::vector<double> out(n * std::size_t(comm.size()));
  Stream stream(comm.device());
  Buffer send = Buffer::on(comm.device(), n * sizeof(double));
  Buffer recv = Buffer::on(comm.device(), out.size() * sizeof(double));
  copy_async(send.data(), values.data(), n * sizeof(double), stream);
  comm.all_gather(send.data(), recv.data(), n, DataType::f64, stream);
  copy_async(out.data(), recv.data(), out.size() * sizeof(double), stream);
  stream.synchronize();
  return out;
}

}  // namespace awsdt
