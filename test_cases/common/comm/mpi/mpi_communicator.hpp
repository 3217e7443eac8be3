// The MPI backend: host memory, each operation run by the stream's thread with MPI, in stream order.
#pragma once

#include <memory>
#include <string_view>

#include "comm/communicator.hpp"

namespace awsdt {

/// How the stream's thread waits for a collective to finish.
enum class MpiWait {
  spin,  ///< MPI's blocking collectives: lowest latency, but a waiting thread keeps its core busy
  poll,  ///< non-blocking collectives, tested with short sleeps in between: the core stays with the compute
         ///< threads of ranks that share cores with their communication (CPU training), at some latency
};

/// Parses "spin" or "poll"; throws UsageError otherwise.
MpiWait parse_mpi_wait(std::string_view name);

/// A communicator over MPI_COMM_WORLD (initializes MPI if needed); split() children wait the same way.
std::unique_ptr<Communicator> make_mpi_communicator(MpiWait wait = MpiWait::spin);

}  // namespace awsdt
