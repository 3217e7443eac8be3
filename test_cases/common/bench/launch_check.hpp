// Catches the classic launch mistake: several copies started without a working MPI or rendezvous, each of
// which then believes it is alone and reports single-rank numbers.
#pragma once

#include "comm/bootstrap/bootstrap.hpp"

namespace awsdt {

/// Throws UsageError when this process sees a world of one rank but the launcher's variables (SLURM_NTASKS,
/// OMPI_COMM_WORLD_SIZE, PMI_SIZE, WORLD_SIZE) say several tasks were started.
void check_not_alone(const Bootstrap& bootstrap);

}  // namespace awsdt
