// The NCCL backend: device memory, operations enqueued on CUDA streams. Built only with CUDA and NCCL.
#pragma once

#include <memory>
#include <vector>

#include "comm/bootstrap/bootstrap.hpp"
#include "comm/communicator.hpp"

namespace awsdt {

/// One communicator per device in `devices`, all joined into one NCCL world of bootstrap.size()*devices.size()
/// ranks (rank = bootstrap.rank()*devices.size() + i). A single process may drive several GPUs.
std::vector<std::unique_ptr<Communicator>> make_nccl_communicators(Bootstrap& bootstrap,
                                                                   const std::vector<Device>& devices);

}  // namespace awsdt
