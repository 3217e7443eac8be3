// Ring reduce-scatter and all-reduce (see ring_collectives.hpp).
#include "comm/mpi/ring_collectives.hpp"

#include <algorithm>
#include <cstring>

#include "comm/mpi/mpi_runtime.hpp"
#include "comm/mpi/mpi_types.hpp"
#include "kernels/cpu/reduce.hpp"

namespace awsdt::mpi {
namespace {

// A buffer of `count` elements cut into `size` blocks, block j destined for rank j: count/size elements each,
// the first count % size blocks one more. Indices wrap around the ring.
struct Blocks {
  std::size_t count;
  int size;
  std::size_t esize;

  int wrap(int j) const { return (j % size + size) % size; }
  std::size_t elems(int j) const {
    return count / std::size_t(size) + (std::size_t(wrap(j)) < count % std::size_t(size) ? 1 : 0);
  }
  std::size_t offset(int j) const {
    const std::size_t w = std::size_t(wrap(j));
    return (w * (count / std::size_t(size)) + std::min(w, count % std::size_t(size))) * esize;
  }
};

struct Ring {
  const RingContext& ctx;
  MPI_Datatype type;
  int rank, size, next, prev;

  // Sends `out` (n_out elements) to the next rank while receiving n_in elements from the previous one.
  void shift(const void* out, std::size_t n_out, void* in, std::size_t n_in) const {
    MPI_Request req[2];
    AWSDT_CHECK_MPI(MPI_Irecv(in, int(n_in), type, prev, ctx.tag, ctx.comm, &req[0]));
    AWSDT_CHECK_MPI(MPI_Isend(out, int(n_out), type, next, ctx.tag, ctx.comm, &req[1]));
    ctx.wait(req, 2);
  }
};

Ring make_ring(const RingContext& ctx, DataType type) {
  Ring r{ctx, datatype(type), 0, 1, 0, 0};
  AWSDT_CHECK_MPI(MPI_Comm_rank(ctx.comm, &r.rank));
  AWSDT_CHECK_MPI(MPI_Comm_size(ctx.comm, &r.size));
  r.next = (r.rank + 1) % r.size;
  r.prev = (r.rank + r.size - 1) % r.size;
  return r;
}

// The reduce phase: this rank's contributions are the blocks of `mine`; on return `result` holds the reduction of
// block `rank`. Step s passes block rank-s-1 (this rank's own data at s = 0, a partial sum held in scratch after)
// and receives block rank-s-2, to which this rank adds its part; at the last step that block is rank's own.
// Only `result` is written, so `mine` may be the buffer result lies in (all-reduce in place).
void reduce_phase(const Ring& ring, const std::byte* mine, std::byte* result, const Blocks& b, DataType type,
                  ReduceOp op) {
  std::vector<std::byte>& scratch = *ring.ctx.scratch;
  const std::size_t block_bytes = b.elems(0) * b.esize;  // block 0 is the longest
  if (scratch.size() < 2 * block_bytes) scratch.resize(2 * block_bytes);
  int sending = ring.rank - 1;
  const std::byte* outgoing = mine + b.offset(sending);
  for (int s = 0; s + 1 < ring.size; ++s) {
    const int receiving = ring.rank - s - 2;
    const bool last = s + 2 == ring.size;
    const std::byte* own = mine + b.offset(receiving);
    // The last step receives straight into result, unless result is where this rank's part lies (in place).
    const bool into_result = last && result != own;
    std::byte* incoming = into_result ? result : scratch.data() + std::size_t(s % 2) * block_bytes;
    const std::size_t n = b.elems(receiving);
    ring.shift(outgoing, b.elems(sending), incoming, n);
    if (last && !into_result) {
      kernels::cpu::reduce_inplace(result, incoming, n, type, op);
    } else {
      kernels::cpu::reduce_inplace(incoming, own, n, type, op);
    }
    outgoing = incoming;
    sending = receiving;
  }
}

}  // namespace

void ring_reduce_scatter(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                         const RingContext& ctx) {
  const Ring ring = make_ring(ctx, type);
  const Blocks b{count * std::size_t(ring.size), ring.size, dtype_size(type)};
  const auto* mine = static_cast<const std::byte*>(send);
  auto* result = static_cast<std::byte*>(recv);
  if (ring.size == 1) {
    if (result != mine) std::memmove(result, mine, count * b.esize);
    return;
  }
  reduce_phase(ring, mine, result, b, type, op);
}

void ring_all_reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                     const RingContext& ctx) {
  const Ring ring = make_ring(ctx, type);
  const Blocks b{count, ring.size, dtype_size(type)};
  const auto* mine = static_cast<const std::byte*>(send);
  auto* all = static_cast<std::byte*>(recv);
  if (ring.size == 1) {
    if (all != mine) std::memmove(all, mine, count * b.esize);
    return;
  }
  reduce_phase(ring, mine, all + b.offset(ring.rank), b, type, op);
  // The gather phase: step s passes finished block rank-s on and receives block rank-s-1 in its place.
  for (int s = 0; s + 1 < ring.size; ++s) {
    const int sending = ring.rank - s, receiving = ring.rank - s - 1;
    ring.shift(all + b.offset(sending), b.elems(sending), all + b.offset(receiving), b.elems(receiving));
  }
}

}  // namespace awsdt::mpi
