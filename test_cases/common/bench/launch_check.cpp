// Lone-launch detection (see launch_check.hpp).
#include "bench/launch_check.hpp"

#include <fmt/format.h>

#include "util/env.hpp"
#include "util/error.hpp"

namespace awsdt {

void check_not_alone(const Bootstrap& bootstrap) {
  if (bootstrap.size() != 1) return;
  for (const char* var : {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "WORLD_SIZE"}) {
    auto n = env_int(var);
    if (n && *n > 1)
      throw UsageError(fmt::format(
          "this process sees a world of 1 rank but {}={} says {} tasks were launched: each copy is running alone. "
          "Launch with `srun --mpi=pmix` or `mpirun` (MPI bootstrap), or set MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE "
          "(env bootstrap)",
          var, *n, *n));
  }
}

}  // namespace awsdt
