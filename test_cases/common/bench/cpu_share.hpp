// How many compute threads a CPU rank should run when the user does not say. OpenBLAS and OpenMP default to
// every CPU of the machine in every process: two ranks on two cores then run four busy threads, and a launcher
// that binds each rank to one core (mpirun's default for small jobs) gets two threads fighting over it. torchrun
// answers with OMP_NUM_THREADS=1; we give each rank its share of the CPUs it may run on instead (a set
// OMP_NUM_THREADS or OPENBLAS_NUM_THREADS still counts as the user saying: awsdt-fsdp's main keeps it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"

namespace awsdt {

struct CpuShare {
  int threads = 1;  ///< this rank's share, at least 1
  int cpus = 1;     ///< CPUs (hardware threads) in this rank's affinity mask
  int sharing = 1;  ///< ranks of this host whose masks overlap this rank's (itself included)
};

/// The share from every rank's affinity mask (`masks[r]`, one bit per CPU) and host: this rank's CPUs divided by
/// the ranks of its host that may run on any of them. Pure, for tests; cpu_share(Bootstrap&) gathers the inputs.
CpuShare cpu_share(const std::vector<std::vector<std::uint8_t>>& masks, const std::vector<std::string>& hosts,
                   int rank);

/// Gathers every rank's affinity mask through the bootstrap (a collective: every rank calls it).
CpuShare cpu_share(Bootstrap& bootstrap);

/// The threads a CPU rank computes on: `requested` (--threads) when set, else none chosen (0: the environment's)
/// when OMP_NUM_THREADS or OPENBLAS_NUM_THREADS (torchrun sets the first) says, else the rank's share of its
/// host's CPUs. Logs which and why. A collective when `requested` is 0.
int cpu_threads_for_rank(int requested, Bootstrap& bootstrap);

}  // namespace awsdt
