// How ranks find each other before any data moves. A Bootstrap knows this process's rank, the world size and
// every rank's host, and can hand a small blob from rank 0 to everyone (the NCCL unique id).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace awsdt {

class Bootstrap {
 public:
  virtual ~Bootstrap() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Rank among the processes on this host (selects the GPU).
  virtual int local_rank() const = 0;
  virtual const std::vector<std::string>& hosts() const = 0;
  /// Every rank returns rank 0's `blob` (the argument is ignored elsewhere).
  virtual std::vector<std::uint8_t> broadcast_from_root(const std::vector<std::uint8_t>& blob) = 0;
  /// Every rank's `mine` (all the same size), concatenated in rank order: the host-side control plane for
  /// timings and checks, independent of the data-plane communicator.
  virtual std::vector<std::uint8_t> all_gather_bytes(const std::vector<std::uint8_t>& mine) = 0;
  /// "mpi" or "env".
  virtual std::string name() const = 0;
  /// From now on, calls `on_lost` (once, on another thread) with a line naming the peer when a peer process ends
  /// before the job does, so that the survivors end too rather than wait in a collective that can never finish.
  /// Launchers end the job themselves but name the lost rank to no survivor: both bootstraps watch through the
  /// side channel of peer_watch.hpp, so this call is collective (every rank makes it).
  virtual void watch_peers(std::function<void(const std::string& what)> on_lost) { (void)on_lost; }
};

/// The torchrun convention: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK. Rank 0 listens on
/// MASTER_PORT and serves the blob; a peer missing after `timeout` is an error naming it.
std::unique_ptr<Bootstrap> make_env_bootstrap(std::chrono::milliseconds timeout);
/// MPI_COMM_WORLD (mpirun, srun --mpi=pmix). Initializes MPI on first use.
std::unique_ptr<Bootstrap> make_mpi_bootstrap();
/// True when the environment says this process was started by an MPI launcher or torchrun-style launcher.
bool launched_by_mpi();
bool launched_by_env();

}  // namespace awsdt
