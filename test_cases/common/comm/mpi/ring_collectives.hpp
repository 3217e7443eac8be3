// Ring collectives over non-blocking point-to-point, for the MPI backend's polled (MpiWait::poll) mode.
//
// Why not MPI's non-blocking collectives: Open MPI 4.1 runs them through libnbc, whose reduce-scatter reduces
// the whole buffer onto rank 0 (binomial tree) and then scatters the blocks from there, and whose all-reduce,
// below 4 ranks or in place (as FSDP's are), reduces onto rank 0 and broadcasts back: rank 0 receives and adds
// size-1 full buffers while the others wait, and each call allocates buffer-sized temporaries. The ring is the
// bandwidth-optimal schedule (NCCL's): size-1 steps, in each of which every rank passes one partially reduced block to
// the next rank and adds its own contribution to the block it received, so each rank sends and adds (size-1)/size of
// the data; an all-reduce then passes the finished blocks round once more (docs/fsdp.md has the figures).
#pragma once

#include <mpi.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "comm/dtype.hpp"

namespace awsdt::mpi {

/// Completes `count` requests (the caller's way of waiting: blocking, or tests with sleeps in between).
using WaitAll = std::function<void(MPI_Request* requests, int count)>;

/// What a ring needs besides its buffers: the communicator, a tag of its own, how to wait, and scratch for two
/// blocks, grown as needed and reused across calls (the operations of one communicator run one at a time).
struct RingContext {
  MPI_Comm comm;
  int tag;
  WaitAll wait;
  std::vector<std::byte>* scratch;
};

/// recv = the reduction over all ranks of block `rank` of send (size blocks of `count` elements); avg reduces as
/// sum (the caller divides). recv may be send's own block (in place). Each block is summed in ring order
/// starting after its owner, the same order on every call: the results are deterministic.
void ring_reduce_scatter(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                         const RingContext& ring);

/// recv = the reduction over all ranks of send (count elements, recv == send for in place); avg reduces as
/// sum. Blocks of count/size elements (the first count % size one longer) are reduce-scattered, then passed
/// round: every rank ends with the same bits.
void ring_all_reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                     const RingContext& ring);

}  // namespace awsdt::mpi
