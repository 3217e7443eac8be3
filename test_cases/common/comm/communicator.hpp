// The communication interface every benchmark uses. Operations are asynchronous with respect to the caller
// and ordered on a Stream, exactly as NCCL's are: call, keep computing, synchronize the stream when the result
// is needed. Buffers live on device() (host memory for the MPI backend, GPU memory for NCCL).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "comm/dtype.hpp"
#include "device/device.hpp"

namespace awsdt {

/// What a backend can do beyond the interface's common ground: generic code asks these, never the backend's name.
struct CommCapabilities {
  /// all_to_all with one buffer for send and receive has a defined result (MPI_IN_PLACE; NCCL: undefined).
  bool in_place_all_to_all = true;
  /// Operations whose in-place result is undefined still run, and are timed as nccl-tests times them.
  bool runs_undefined_in_place = false;
  /// Operations enqueued on a stream can be captured into a CUDA graph and replayed.
  bool graph_capture = false;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Where this rank's buffers must live.
  virtual const Device& device() const = 0;
  /// "mpi" or "nccl": for output and result documents.
  virtual std::string_view backend() const = 0;
  /// What this backend can do (see CommCapabilities).
  virtual CommCapabilities capabilities() const { return {}; }
  /// Host name of every rank, indexed by rank.
  virtual const std::vector<std::string>& hosts() const = 0;

  /// recv[i] = op over ranks of send[i]; send == recv is in place.
  virtual void all_reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op,
                          Stream& stream) = 0;
  /// recv[r*send_count + i] = send of rank r [i]; in place when send == recv + rank*send_count.
  virtual void all_gather(const void* send, void* recv, std::size_t send_count, DataType type, Stream& stream) = 0;
  /// recv[i] = op over ranks of send[rank*recv_count + i]; in place when recv == send + rank*recv_count.
  virtual void reduce_scatter(const void* send, void* recv, std::size_t recv_count, DataType type, ReduceOp op,
                              Stream& stream) = 0;
  /// Block r of send goes to rank r; block r of recv comes from rank r. Blocks are `count` elements.
  virtual void all_to_all(const void* send, void* recv, std::size_t count, DataType type, Stream& stream) = 0;
  /// recv = root's send on every rank (send is read on root only).
  virtual void broadcast(const void* send, void* recv, std::size_t count, DataType type, int root, Stream& stream) = 0;
  /// recv on root = op over ranks of send (recv is written on root only).
  virtual void reduce(const void* send, void* recv, std::size_t count, DataType type, ReduceOp op, int root,
                      Stream& stream) = 0;
  virtual void send(const void* buf, std::size_t count, DataType type, int peer, Stream& stream) = 0;
  virtual void recv(void* buf, std::size_t count, DataType type, int peer, Stream& stream) = 0;
  virtual void barrier(Stream& stream) = 0;

  /// Operations between group_start and group_end are issued together (needed for send/recv pairs and for
  /// one process driving several GPUs). Groups nest.
  virtual void group_start() = 0;
  virtual void group_end() = 0;

  /// A new communicator of the ranks that passed the same color, ordered by key (then by rank).
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  /// Tears the communicator down without waiting for peers, so that a failing rank never leaves others hung.
  virtual void abort() noexcept = 0;
  /// The same action as abort(), as a callable that stays valid after this object is gone (a communicator
  /// destroyed by an exception in flight keeps its handle alive for it). Used by the fatal-error path.
  virtual std::function<void()> abort_action() const = 0;
  /// A fault the backend detected on its own, outside any call (NCCL's asynchronous errors: a network failure
  /// leaves a kernel waiting forever unless someone asks); empty while there is none. Safe from any thread.
  virtual std::string async_error() const { return {}; }
  /// Whether async_error() can ever report anything (worth polling).
  virtual bool has_async_errors() const { return false; }

  /// Whether this backend can run `op` on `type` (every combination, on both backends today).
  virtual bool supports(DataType type, ReduceOp op) const { return true; }
};

}  // namespace awsdt
