// Ring reduce-scatter (see ring_reduce_scatter.hpp).
#include "comm/mpi/ring_reduce_scatter.hpp"

#include <cstring>

#include "comm/mpi/mpi_runtime.hpp"
#include "comm/mpi/mpi_types.hpp"
#include "kernels/cpu/reduce.hpp"

namespace awsdt::mpi {

void ring_reduce_scatter(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                         MPI_Comm comm, int tag, const WaitAll& wait, std::vector<std::byte>& scratch) {
  int rank = 0, size = 1;
  AWSDT_CHECK_MPI(MPI_Comm_rank(comm, &rank));
  AWSDT_CHECK_MPI(MPI_Comm_size(comm, &size));
  const std::size_t bytes = count * dtype_size(type);
  auto block = [&](int j) { return static_cast<const std::byte*>(send) + std::size_t((j % size + size) % size) * bytes; };
  auto* out = static_cast<std::byte*>(recv);
  if (size == 1) {
    if (out != block(0)) std::memmove(out, block(0), bytes);
    return;
  }
  if (scratch.size() < 2 * bytes) scratch.resize(2 * bytes);
  const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
  const MPI_Datatype t = datatype(type);
  const int n = static_cast<int>(count);  // the caller checked that count fits an int

  // Step s passes block rank-s-1 (this rank's own data at s = 0, a partial sum after) to the next rank and
  // receives block rank-s-2 from the previous one. At the last step that block is rank's own: the result.
  const std::byte* outgoing = block(rank - 1);
  for (int s = 0; s + 1 < size; ++s) {
    const bool last = s + 2 == size;
    const std::byte* own = block(rank - s - 2);
    const bool in_place = last && out == own;
    // The last step receives straight into recv unless recv holds this rank's contribution (in place).
    std::byte* incoming = last && !in_place ? out : scratch.data() + std::size_t(s % 2) * bytes;
    MPI_Request req[2];
    AWSDT_CHECK_MPI(MPI_Irecv(incoming, n, t, prev, tag, comm, &req[0]));
    AWSDT_CHECK_MPI(MPI_Isend(outgoing, n, t, next, tag, comm, &req[1]));
    wait(req, 2);
    if (in_place) {
      kernels::cpu::reduce_inplace(out, incoming, count, type, op);
    } else {
      kernels::cpu::reduce_inplace(incoming, own, count, type, op);
    }
    outgoing = incoming;
  }
}

}  // namespace awsdt::mpi
