// The MPI backend: host memory, each operation run by the stream's thread with MPI, in stream order.
#pragma once

#include <memory>

#include "comm/communicator.hpp"

namespace awsdt {

/// A communicator over MPI_COMM_WORLD (initializes MPI if needed).
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace awsdt
