// Slurm and HyperPod Slurm: an sbatch script (pyxis containers optional), sbatch --parsable, one batched
// squeue/sacct/scontrol query for status, scancel.
#pragma once

#include <memory>
#include <string>

#include "cluster/backend.hpp"

namespace awsdt::launcher {

/// slurm and hyperpod-slurm.
std::unique_ptr<ClusterBackend> make_slurm_backend();

/// Slurm's state names (COMPLETED, CANCELLED by 0, NODE_FAIL, ...) mapped to ours.
JobState slurm_state(const std::string& name);

}  // namespace awsdt::launcher
