// The local backend: mpirun on this machine, detached, with its log and exit status in the job directory.
#pragma once

#include <memory>
#include <string>

#include "cluster/backend.hpp"

namespace awsdt::launcher {

/// mpirun on this machine.
std::unique_ptr<ClusterBackend> make_local_backend();

}  // namespace awsdt::launcher
