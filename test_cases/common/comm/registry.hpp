// Choosing and creating communicators: the one explicit list of backends and bootstraps.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/communicator.hpp"

namespace awsdt {

struct CommConfig {
  std::string backend = "auto";    ///< auto | mpi | nccl (auto: nccl when built with it and a GPU is visible)
  std::string bootstrap = "auto";  ///< auto | mpi | env (auto: how this process was launched)
  int gpus_per_process = 1;        ///< NCCL only: GPUs this process drives
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  ///< rendezvous deadline
  std::string mpi_wait = "spin";  ///< MPI only: spin (blocking collectives) or poll (see MpiWait)
};

/// Everything a benchmark needs to talk: the bootstrap and one communicator per device this process drives.
struct CommWorld {
  std::unique_ptr<Bootstrap> bootstrap;
  std::vector<std::unique_ptr<Communicator>> comms;
  Communicator& comm() { return *comms.front(); }
};

/// The backends compiled into this build, in preference order.
std::vector<std::string> available_backends();
/// Resolves "auto" to a concrete backend name for this build and machine.
std::string resolve_backend(const std::string& requested);
/// Only the bootstrap ("auto", "mpi" or "env"), for a benchmark that brings its own data plane (awsdt-fabric).
std::unique_ptr<Bootstrap> make_bootstrap(const std::string& requested, std::chrono::milliseconds timeout);
/// Bootstraps and creates the communicators; throws UsageError for an impossible combination.
CommWorld make_comm_world(const CommConfig& config);

}  // namespace awsdt
